"""The classifier: rules and the linear model together, with the evidence for each decision.

How a decision is made (and why):

* Every message is normalised, tokenised once and analysed by the lexicon
  (``matcher``). Active *urgent* rules are decisive: their intent is on and the
  message is urgent whatever the model says. A missed emergency is far worse
  than a false alarm, and a statistical model can be wrong in ways nobody
  predicted, so urgency never rests on the model alone.
* The linear model (``model``) scores every intent and the urgent flag from the
  words and from the rule evidence; an intent is on when its probability passes
  the threshold chosen by cross-validation at training time.
* The model may *add* urgency (a crisis worded in a way no rule knows), never
  take away what a rule found. Each urgent decision lists what raised it.
* ``other`` is on only when nothing else is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intents.compiled import load_compiled_lexicon
from intents.features import extract
from intents.labels import ALWAYS_URGENT, INTENTS, URGENT, Intent
from intents.lexicon import LEXICON_DIR, CompiledLexicon
from intents.matcher import Analysis, analyse
from intents.model import MODEL_FILE, LinearModel, load_model
from intents.normalize import normalize
from intents.tokens import Tokenizer

RULE_SCORE = 0.95
#: The model's probability needed to call urgent what the rules explicitly set aside.
CONTESTED = 0.9


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason behind a decision, written for a coordinator to read."""

    source: str  # "rule" or "model"
    intent: str
    detail: str  # the rule id and the words that matched, or the model's score
    score: float
    active: bool = True
    modifiers: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.source == "model":
            return f"model {self.intent} {self.score:.2f}"
        state = "" if self.active else f" (set aside: {', '.join(self.modifiers)})"
        return f"rule {self.detail}{state}"


@dataclass(frozen=True, slots=True)
class Classification:
    intents: tuple[Intent, ...]
    scores: dict[str, float]
    urgent: bool
    urgent_because: tuple[str, ...]
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "intents": [str(intent) for intent in self.intents],
            "scores": {name: round(score, 3) for name, score in self.scores.items()},
            "urgent": self.urgent,
            "urgent_because": list(self.urgent_because),
            "evidence": [item.describe() for item in self.evidence],
        }


class Classifier:
    """Build once (it compiles the lexicon and loads the model), then call ``classify`` many times."""

    __slots__ = ("lexicon", "model", "tokenizer")

    def __init__(self, lexicon: CompiledLexicon, model: LinearModel, tokenizer: Tokenizer) -> None:
        self.lexicon = lexicon
        self.model = model
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, lexicon_dir: Path = LEXICON_DIR, model_path: Path = MODEL_FILE) -> Classifier:
        lexicon, tokenizer = load_lexicon(lexicon_dir)
        return cls(lexicon, load_model(model_path), tokenizer)

    def analyse(self, text: str) -> Analysis:
        return analyse_text(text, self.lexicon, self.tokenizer)

    def classify(self, text: str) -> Classification:
        return decide(self.analyse(text), self.model)


def load_lexicon(lexicon_dir: Path = LEXICON_DIR) -> tuple[CompiledLexicon, Tokenizer]:
    """The compiled lexicon and the tokeniser it was compiled with (one dictionary in memory, not two)."""
    lexicon = load_compiled_lexicon(lexicon_dir)
    return lexicon, lexicon.tagger


def analyse_text(text: str, lexicon: CompiledLexicon, tokenizer: Tokenizer) -> Analysis:
    normalised = normalize(text, lexicon.emoji)
    return analyse(normalised, tokenizer.tokenize(normalised), lexicon)


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """What the rules alone decided: the intents they force, why the message is urgent, and the
    intents whose urgent cues they found but set aside (negated, reported, past...)."""

    forced: frozenset[Intent]
    urgent_because: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    set_aside: frozenset[Intent] = frozenset()


def rule_verdict(analysis: Analysis) -> RuleVerdict:
    forced: set[Intent] = set()
    set_aside: set[Intent] = set()
    urgent_because: list[str] = []
    evidence: list[Evidence] = []
    for hit in analysis.hits:
        detail = f"{hit.rule.id}: {hit.cue_text(analysis.tokens, analysis.text)}"
        evidence.append(Evidence("rule", hit.rule.intent, detail, RULE_SCORE, hit.active, tuple(sorted(hit.modifiers))))
        if hit.active and hit.rule.urgent:
            forced.add(hit.rule.intent)
            urgent_because.append(f"rule {detail}")
        elif hit.rule.urgent:
            set_aside.add(hit.rule.intent)
    return RuleVerdict(frozenset(forced), tuple(urgent_because), tuple(evidence), frozenset(set_aside - forced))


def combine(probabilities: dict[str, float], rules: RuleVerdict, thresholds: dict[str, float]) -> Classification:
    """The decision from the model's probabilities and the rules' verdict (pure; training uses it too)."""
    evidence = list(rules.evidence)
    urgent_because = list(rules.urgent_because)
    scores: dict[str, float] = {}
    on: list[Intent] = []
    for intent in INTENTS:
        probability = probabilities.get(intent, 0.0)
        forced = intent in rules.forced
        scores[intent] = max(probability, RULE_SCORE) if forced else probability
        threshold = thresholds.get(intent, 0.5)
        if intent in rules.set_aside and intent in ALWAYS_URGENT:
            # The rules saw the cue and set it aside on purpose (ドラマで…, 死にたいとかじゃない): the model
            # alone overrules that only when it is very sure.
            threshold = max(threshold, CONTESTED)
        if forced or probability >= threshold:
            on.append(intent)
            if not forced and intent != Intent.OTHER:
                evidence.append(Evidence("model", intent, "", probability))
    intents: list[Intent] = [intent for intent in on if intent != Intent.OTHER] or [Intent.OTHER]
    intents.sort(key=lambda intent: scores[intent], reverse=True)

    for intent in intents:
        if intent in ALWAYS_URGENT and intent not in rules.forced:
            urgent_because.append(f"model {intent} {scores[intent]:.2f}")
    urgent_probability = probabilities.get(URGENT, 0.0)
    scores[URGENT] = urgent_probability
    urgent_threshold = max(thresholds.get(URGENT, 0.5), CONTESTED) if rules.set_aside else thresholds.get(URGENT, 0.5)
    if urgent_probability >= urgent_threshold and Intent.OTHER not in intents:
        urgent_because.append(f"model urgent {urgent_probability:.2f}")
    return Classification(
        intents=tuple(intents),
        scores=scores,
        urgent=bool(urgent_because),
        urgent_because=tuple(urgent_because),
        evidence=tuple(evidence),
    )


def decide(analysis: Analysis, model: LinearModel) -> Classification:
    """Combine the rule hits and the model's probabilities into one decision."""
    return combine(model.probabilities(extract(analysis)), rule_verdict(analysis), model.thresholds)
