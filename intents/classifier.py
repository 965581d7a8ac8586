"""The classifier: rules and the linear model together, with the evidence for each decision.

How a decision is made (and why):

* Every message is normalised, tokenised once and analysed by the lexicon
  (``matcher``). Active ``now`` rules page, ``check`` rules make the bot ask. A
  missed emergency is far worse than a false alarm, and a statistical model can
  be wrong in ways nobody predicted, so a risk cue never rests on the model
  alone: a cue the context sets aside by time or mood (past, hypothetical...)
  is lowered to ``check``, not dropped (``lexicon/context.yaml``).
* The linear model (``model``) scores every intent and the urgent flag from the
  words and from the rule evidence; an intent is on when its probability passes
  the threshold chosen by cross-validation at training time.
* The model may *add* urgency (a crisis worded in a way no rule knows): ``now``
  only when it is very sure, ``check`` below that. It may *doubt* a rule (虐待だろ
  これｗ), which lowers the rule's ``now`` to ``check`` — asked about, never
  cleared. Each decision lists what raised it.
* ``other`` is on only when nothing else is.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intents.compiled import load_compiled_lexicon
from intents.features import extract
from intents.labels import ALWAYS_URGENT, INTENTS, URGENT, Intent, Urgency
from intents.lexicon import LEXICON_DIR, CompiledLexicon
from intents.mapped import RELEASE_EVERY, DictionaryPages
from intents.matcher import Analysis, analyse
from intents.model import MODEL_FILE, LinearModel, load_model
from intents.normalize import normalize
from intents.tokens import Tokenizer

RULE_SCORE = 0.95
#: The model's probability needed to call urgent what the rules explicitly set aside.
CONTESTED = 0.9
#: The model alone pages the coordinator (``now``) only when it is at least this sure; below, it asks (``check``).
NOW_FLOOR = 0.9
#: The threshold names, besides one per intent: the model's ``urgent`` probability for ``now``
#: and for ``check``.
NOW = URGENT
CHECK = "urgent_check"
#: Below this ``urgent`` probability the model doubts a rule's ``now`` (虐待だろこれｗ, a FAQ question
#: that names DV): the rule's cue is lowered to ``check``, never cleared. The bot then asks at once.
DOUBT = 0.1


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
    """What a message is about, how urgent it is, and why (``urgent_because`` for ``now``,
    ``check_because`` for ``check``)."""

    intents: tuple[Intent, ...]
    scores: dict[str, float]
    urgency: Urgency
    urgent_because: tuple[str, ...]
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    check_because: tuple[str, ...] = ()
    rules: frozenset[str] = frozenset()  # the rules that fired and were meant, by id
    terms: frozenset[str] = frozenset()  # the lexicon terms found (which situation the words describe)
    cues: frozenset[str] = frozenset()  # intents of the risk cues found, meant or lowered to a check

    @property
    def urgent(self) -> bool:
        """Page the coordinator now (the ``urgent`` of the classify contract)."""
        return self.urgency == Urgency.NOW

    @property
    def raised(self) -> bool:
        """Now or check: a human must hear about it, at once or on the answer."""
        return self.urgency != Urgency.NONE

    def to_json(self) -> dict[str, Any]:
        return {
            "intents": [str(intent) for intent in self.intents],
            "scores": {name: round(score, 3) for name, score in self.scores.items()},
            "urgency": str(self.urgency),
            "urgent": self.urgent,
            "urgent_because": list(self.urgent_because),
            "check_because": list(self.check_because),
            "evidence": [item.describe() for item in self.evidence],
        }


class Classifier:
    """Build once (it compiles the lexicon and loads the model), then call ``classify`` many times."""

    __slots__ = ("_pages", "_read", "_release_every", "lexicon", "model", "tokenizer")

    def __init__(
        self, lexicon: CompiledLexicon, model: LinearModel, tokenizer: Tokenizer, *, release_every: int = RELEASE_EVERY
    ) -> None:
        self.lexicon = lexicon
        self.model = model
        self.tokenizer = tokenizer
        # The dictionary's resident pages grow with the variety of words read; every ``release_every``
        # messages (0: never) they are given back (intents/mapped.py says why that is safe and cheap).
        self._pages = DictionaryPages()
        self._release_every = release_every
        self._read = itertools.count(1)  # next() is atomic: the web app's threads share one classifier

    @classmethod
    def load(cls, lexicon_dir: Path = LEXICON_DIR, model_path: Path = MODEL_FILE) -> Classifier:
        lexicon, tokenizer = load_lexicon(lexicon_dir)
        return cls(lexicon, load_model(model_path), tokenizer)

    def analyse(self, text: str) -> Analysis:
        return analyse_text(text, self.lexicon, self.tokenizer)

    def classify(self, text: str) -> Classification:
        if self._release_every and next(self._read) % self._release_every == 0:
            self._pages.release()
        return decide(self.analyse(text), self.model, self.lexicon)


def load_lexicon(lexicon_dir: Path = LEXICON_DIR) -> tuple[CompiledLexicon, Tokenizer]:
    """The compiled lexicon and the tokeniser it was compiled with (one dictionary in memory, not two)."""
    lexicon = load_compiled_lexicon(lexicon_dir)
    return lexicon, lexicon.tagger


def analyse_text(text: str, lexicon: CompiledLexicon, tokenizer: Tokenizer) -> Analysis:
    normalised = normalize(text, lexicon.emoji)
    return analyse(normalised, tokenizer.tokenize(normalised), lexicon)


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """What the rules alone decided: the intents they force, why the message is urgent now, why
    the bot must ask (``check_because``: check-level cues, and urgent cues the context lowered),
    and the intents whose urgent cues they set aside (negated, reported, past...)."""

    forced: frozenset[Intent]
    urgent_because: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    set_aside: frozenset[Intent] = frozenset()
    check_because: tuple[str, ...] = ()
    rules: frozenset[str] = frozenset()
    terms: frozenset[str] = frozenset()
    cues: frozenset[str] = frozenset()
    #: No ``now`` rule, and a cue the context lowered to a check (前リスカしてた) or only words of how heavy
    #: things feel (つかれた もう限界かも): the model alone asks about it rather than paging.
    tempered: bool = False


def rule_verdict(analysis: Analysis, lexicon: CompiledLexicon) -> RuleVerdict:
    """The rules' decision. A ``now`` cue set aside only by modifiers that ``lowered_to_check``
    names for its intent (past, hypothetical...) still asks: never silent on a risk cue."""
    lowered_to_check: Mapping[str, frozenset[str]] = lexicon.lowered_to_check
    forced: set[Intent] = set()
    set_aside: set[Intent] = set()
    urgent_because: list[str] = []
    check_because: list[str] = []
    evidence: list[Evidence] = []
    cues: set[str] = set()
    for hit in analysis.hits:
        detail = f"{hit.rule.id}: {hit.cue_text(analysis.tokens, analysis.text)}"
        blocking = hit.modifiers - hit.rule.ignores
        evidence.append(Evidence("rule", hit.rule.intent, detail, RULE_SCORE, hit.active, tuple(sorted(blocking))))
        if not hit.rule.raises:
            continue
        if hit.active and hit.rule.urgent:
            forced.add(hit.rule.intent)
            urgent_because.append(f"rule {detail}")
            cues.add(hit.rule.intent)
        elif hit.active:
            check_because.append(f"rule {detail}")
            cues.add(hit.rule.intent)
        elif hit.rule.urgent:
            set_aside.add(hit.rule.intent)
            if blocking <= lowered_to_check.get(hit.rule.intent, frozenset()):
                check_because.append(f"rule {detail} ({', '.join(sorted(blocking))})")
                cues.add(hit.rule.intent)
    return RuleVerdict(
        frozenset(forced),
        tuple(urgent_because),
        tuple(evidence),
        frozenset(set_aside - forced),
        tuple(dict.fromkeys(check_because)),
        frozenset(hit.rule.id for hit in analysis.hits if hit.active),
        frozenset(analysis.matches),
        frozenset(cues),
        tempered=not forced and (_only_past_cues(analysis) or _only_heavy_words(analysis, lexicon)),
    )


def _only_past_cues(analysis: Analysis) -> bool:
    """Every ``now`` cue in the message was set aside as past (「前リスカしてた」): not hypothetical
    (「ここから落ちたら楽になれるかな」 is a wish now), not negated or reported."""
    urgent = [hit for hit in analysis.hits if hit.rule.raises and hit.rule.urgent]
    return bool(urgent) and all("past" in hit.modifiers - hit.rule.ignores for hit in urgent)


def _only_heavy_words(analysis: Analysis, lexicon: CompiledLexicon) -> bool:
    """Words of how heavy things feel (限界, もう疲れた), no word of danger beside them (ベランダ, 倒れた), and
    no ``now`` rule hit at all, set aside or not."""
    found = set(analysis.matches)
    heavy = bool(found & lexicon.asked_not_paged) and not found & lexicon.paged_with
    return heavy and not any(hit.rule.urgent for hit in analysis.hits)


def combine(probabilities: dict[str, float], rules: RuleVerdict, thresholds: dict[str, float]) -> Classification:
    """The decision from the model's probabilities and the rules' verdict (pure; training uses it too).

    Urgency: an active ``now`` rule pages. The model alone pages only when it is very sure
    (``NOW_FLOOR``, and ``CONTESTED`` against a cue the rules set aside); when it is less sure, or
    when an always-urgent intent is on by the model alone, the bot asks (``check``). The model can
    add urgency; it can lower a rule's ``now`` to ``check`` when it doubts it (``DOUBT``), never to
    ``none``: what a rule found is always asked about. When the rules are ``tempered`` (a cue the
    context lowered, or only words of how heavy things feel), the model alone asks and never pages: the
    context is not overruled by a score trained on short messages (「前リスカしてた」, 「もう限界かも」).
    """
    evidence = list(rules.evidence)
    urgent_probability = probabilities.get(URGENT, 0.0)
    doubted = bool(rules.urgent_because) and urgent_probability < DOUBT
    urgent_because = [] if doubted else list(rules.urgent_because)
    check_because = list(rules.check_because)
    if doubted:
        check_because += [f"{reason} (model urgent {urgent_probability:.2f})" for reason in rules.urgent_because]
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

    now_threshold = max(thresholds.get(NOW, NOW_FLOOR), NOW_FLOOR)
    if rules.set_aside:
        now_threshold = max(now_threshold, CONTESTED)
    for intent in intents:
        if intent in ALWAYS_URGENT and intent not in rules.forced:
            reason = f"model {intent} {scores[intent]:.2f}"
            sure = scores[intent] >= now_threshold and not rules.tempered
            (urgent_because if sure else check_because).append(reason)
    scores[URGENT] = urgent_probability
    if urgent_probability >= now_threshold and Intent.OTHER not in intents and not rules.tempered:
        urgent_because.append(f"model urgent {urgent_probability:.2f}")
    elif urgent_probability >= thresholds.get(CHECK, now_threshold):
        check_because.append(f"model urgent {urgent_probability:.2f}")
    urgency = Urgency.NOW if urgent_because else Urgency.CHECK if check_because else Urgency.NONE
    return Classification(
        intents=tuple(intents),
        scores=scores,
        urgency=urgency,
        urgent_because=tuple(urgent_because),
        evidence=tuple(evidence),
        check_because=tuple(check_because) if urgency == Urgency.CHECK else (),
        rules=rules.rules,
        terms=rules.terms,
        cues=rules.cues,
    )


def decide(analysis: Analysis, model: LinearModel, lexicon: CompiledLexicon) -> Classification:
    """Combine the rule hits and the model's probabilities into one decision."""
    verdict = rule_verdict(analysis, lexicon)
    return combine(model.probabilities(extract(analysis)), verdict, model.thresholds)
