"""The lexicon: named term sets, the rules built from them, and the context words.

Lexicon files live in ``intents/lexicon/`` as YAML and are data, not code:

* ``terms.yaml``   named sets of phrases (``caregiver``: 母, おかん, 父親 ...)
* ``rules.yaml``   rules: "all of these terms in one sentence means this intent"
* ``context.yaml`` negation, past, reported speech, hypotheticals, dialect, emoji

They are validated with pydantic (errors name the file and the path) and then
compiled once into lookup tables (``CompiledLexicon``) that the matcher scans in
one pass over the tokens. Compiling needs the tokeniser, because every phrase is
itself tokenised to find its lemmas and its kana key.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from intents.errors import LexiconError
from intents.kana import key_of_tokens
from intents.labels import Intent, Urgency
from intents.normalize import normalize
from intents.tokens import Token, Tokenizer
from intents.yamlfile import load_yaml_file

LEXICON_DIR = Path(__file__).parent / "lexicon"

#: Term names the context rules look for (see ``context.py``).
CONTEXT_TERMS = (
    "distant_past",
    "past_opening",
    "present",
    "resolved",
    "reported",
    "hypothetical",
    "future",
    "mention",
    "not_now",
)
Modifier = Literal[
    "negated", "past", "resolved", "reported", "hypothetical", "future", "mention", "not_now", "other_sense"
]
MIN_KANA_KEY = 4
MIN_FUZZY_KEY = 5
#: Phrase syntax: "泊まる…所" allows a few words between the parts; "¬帰って来る" means "帰って来る, negated";
#: "=なったら" matches the written form only (lemmas would turn なったら into なった).
GAP = "…"
NEGATED = "¬"
SURFACE_ONLY = "="


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermSpec(_Strict):
    """A named set of phrases that mean one thing."""

    source: str = Field(min_length=3, description="where these words come from")
    phrases: list[str] = Field(min_length=1)
    kana: bool = Field(default=True, description="also match by kana key (off for very ambiguous sounds)")
    fuzzy: bool = Field(default=False, description="also match with typos (rapidfuzz)")


class TermsFile(_Strict):
    terms: dict[str, TermSpec]


class RuleSpec(_Strict):
    """All of ``all`` in one sentence (or the message) means ``intent``."""

    id: str
    intent: Intent
    urgency: Urgency = Field(default=Urgency.NONE, description="now: page at once; check: the bot asks at once")
    all: list[str] = Field(min_length=1, description="term names; every one must match")
    scope: Literal["sentence", "message"] = "sentence"
    alone: bool = Field(default=False, description="only when the matches are the whole message (a bare しぬ)")
    later_in_message: bool = Field(default=False, description="a date months ahead anywhere in the message: set aside")
    unless: list[str] = Field(default_factory=list, description="terms that, overlapping a match, mean another sense")
    unless_in_sentence: list[str] = Field(default_factory=list)
    unless_in_message: list[str] = Field(default_factory=list)
    ignores: list[Modifier] = Field(default_factory=list, description="context modifiers that do not block this rule")
    source: str = Field(min_length=3)


class RulesFile(_Strict):
    rules: list[RuleSpec]

    @model_validator(mode="after")
    def _unique_ids(self) -> RulesFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


class NegationSpec(_Strict):
    negators: list[str] = Field(description="lemmas that negate the predicate before them")
    light_words: list[str] = Field(description="lemmas the negation scope may cross (為る, 居る, 思う, 訳 ...)")
    clause_breaks: list[str] = Field(description="conjunctive particles that end the scope (けど, が ...)")
    question_after: list[str] = Field(description="lemmas after the negator that make a question (ないか, ないべか)")
    obligation_after: list[str] = Field(description="lemmas after ないと that make it 'must' (いけない, だめ)")


class AskedNotPaged(_Strict):
    """Words of how heavy things feel (限界, もう無理): with no `now` rule and no word of danger beside them,
    the model alone asks rather than pages (``intents.classifier``)."""

    terms: list[str] = Field(default_factory=list, description="the heavy words' terms")
    unless_with: list[str] = Field(default_factory=list, description="terms of danger that keep the model's page")


class ContextFile(_Strict):
    negation: NegationSpec
    lowered_to_check: dict[Intent, list[Modifier]] = Field(
        default_factory=dict,
        description="per intent, the modifiers that lower a `now` cue to `check` instead of clearing it",
    )
    asked_not_paged: AskedNotPaged = Field(default_factory=lambda: AskedNotPaged())
    dialect: dict[str, str] = Field(default_factory=dict, description="surface -> standard lemma")
    emoji: dict[str, str] = Field(default_factory=dict, description="emoji -> word")


@dataclass(frozen=True, slots=True)
class Part:
    """A gap-free piece of a phrase: its lemmas, its normalised surface and, when safe, its kana key.

    ``loose`` is the lemma sequence without particles, for phrases of two content words or more:
    casual writing drops them (薬たくさん飲んだ for 薬をたくさん飲む).
    """

    lemmas: tuple[str, ...]
    surface: str
    key: str | None
    loose: tuple[str, ...] | None = None
    loose_key: str | None = None


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase of a term, compiled.

    ``parts`` has one element unless the phrase was written with gaps (泊まる…所);
    ``negated`` phrases match only when the predicate after them is negated.
    """

    term: str
    text: str
    parts: tuple[Part, ...]
    negated: bool
    fuzzy: bool
    latin: re.Pattern[str] | None
    lemmas: tuple[str, ...] = field(init=False)  # the first part's, looked up on every token
    key: str | None = field(init=False)  # the kana key, for phrases without gaps

    def __post_init__(self) -> None:
        object.__setattr__(self, "lemmas", self.parts[0].lemmas if self.parts else ())
        object.__setattr__(self, "key", self.parts[0].key if len(self.parts) == 1 else None)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    intent: Intent
    urgency: Urgency
    terms: tuple[str, ...]
    scope: str
    alone: bool
    later_in_message: bool
    unless: tuple[str, ...]
    unless_in_sentence: tuple[str, ...]
    unless_in_message: tuple[str, ...]
    ignores: frozenset[str]
    source: str

    @property
    def urgent(self) -> bool:
        """A cue that pages the coordinator at once when it is meant."""
        return self.urgency == Urgency.NOW

    @property
    def raises(self) -> bool:
        """A cue that raises any urgency (``now`` or ``check``)."""
        return self.urgency != Urgency.NONE


@dataclass(slots=True)
class CompiledLexicon:
    """Lookup tables built once at start-up; read-only afterwards."""

    rules: list[Rule]
    by_first_lemma: dict[str, list[Phrase]] = field(default_factory=lambda: defaultdict(list))
    by_key_prefix: dict[str, list[Phrase]] = field(default_factory=lambda: defaultdict(list))
    by_surface_prefix: dict[str, list[Phrase]] = field(default_factory=lambda: defaultdict(list))
    by_first_loose: dict[str, list[Phrase]] = field(default_factory=lambda: defaultdict(list))
    by_loose_key_prefix: dict[str, list[Phrase]] = field(default_factory=lambda: defaultdict(list))
    latin: list[Phrase] = field(default_factory=list)
    fuzzy: list[Phrase] = field(default_factory=list)
    fuzzy_keys: list[str] = field(default_factory=list)
    phrases: list[Phrase] = field(default_factory=list)  # every phrase, in compile order
    negation: NegationSpec | None = None
    lowered_to_check: dict[str, frozenset[str]] = field(default_factory=dict)
    asked_not_paged: frozenset[str] = frozenset()
    paged_with: frozenset[str] = frozenset()  # terms of danger that keep the model's page beside heavy words
    tokenizer: Tokenizer | None = None  # the one used to compile the phrases; messages use it too
    dialect: dict[str, str] = field(default_factory=dict)
    emoji: dict[str, str] = field(default_factory=dict)

    @property
    def tagger(self) -> Tokenizer:
        if self.tokenizer is None:
            raise LexiconError("the lexicon was compiled without a tokeniser")
        return self.tokenizer

    @property
    def negation_spec(self) -> NegationSpec:
        if self.negation is None:
            raise LexiconError("the lexicon has no negation settings")
        return self.negation


def _read_yaml(path: Path) -> object:
    try:
        return load_yaml_file(path)
    except FileNotFoundError as exc:
        raise LexiconError(f"{path.name}: file not found") from exc
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path.name}: not valid YAML: {exc}") from exc


ModelT = TypeVar("ModelT", bound=BaseModel)


def _parse(model: type[ModelT], path: Path) -> ModelT:
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = " -> ".join(str(part) for part in first["loc"])
        raise LexiconError(f"{path.name}: [{where}] {first['msg']}") from exc


_INFLECTING = {"動詞", "形容詞", "助動詞"}
_CONTENT_POS = {"名詞", "動詞", "形容詞", "副詞", "形状詞", "代名詞"}
#: Particles casual writing drops without changing the meaning (が, を, に, は, も); か, の and
#: sentence-final particles stay, since 死ぬかと思う is not 死のうと思う.
_DROPPABLE = {"格助詞", "係助詞"}


def droppable(token: Token) -> bool:
    return token.pos == "助詞" and token.pos2 in _DROPPABLE


def _stem_letters(token: Token) -> int:
    """Kana letters a word leaves in a key: an inflecting word's stem only (成る -> な: 1).

    A loose key (particles dropped) ending in a one-letter stem matches the first letter of any word:
    一人になる as ひとり+な would find 「ひとり なかしべつ住み」.
    """
    letters = len(key_of_tokens([token]).text)
    return letters - 1 if token.pos in _INFLECTING and token.cform.startswith("終止形") else letters


def phrase_key(tokens: list[Token]) -> str | None:
    """The kana key of a phrase; an inflecting last word keeps only its stem (倒れる -> たおれ)."""
    if not tokens:
        return None
    key = key_of_tokens(tokens).text
    last = tokens[-1]
    if last.pos in _INFLECTING and last.cform.startswith("終止形") and len(key) > 1:
        key = key[:-1]
    return key if len(key) >= MIN_KANA_KEY else None


def _has_kanji(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def _compile_part(text: str, spec: TermSpec, tokenizer: Tokenizer, surface_only: bool) -> Part:
    norm = normalize(text, message=False)
    if surface_only:
        return Part((), norm, None)
    tokens = tokenizer.tokenize(norm)
    # Kana keys let a kanji phrase match text typed in kana (入院 ~ にゅーいん). A phrase already in kana
    # is matched by its written form and lemmas; its key would only add collisions (もういいかな ~ にもいかない).
    key = phrase_key(tokens) if spec.kana and _has_kanji(norm) else None
    lemmas = tuple(token.lemma for token in tokens)
    without_particles = [token for token in tokens if not droppable(token)]
    content = sum(1 for token in without_particles if token.pos in _CONTENT_POS)
    if content < 2 or len(without_particles) == len(tokens):
        return Part(lemmas, norm.replace(" ", ""), key)
    loose = tuple(token.lemma for token in without_particles)
    loose_key = None
    if spec.kana and _has_kanji(norm) and _stem_letters(without_particles[-1]) >= 2:
        loose_key = phrase_key(without_particles)
    return Part(lemmas, norm.replace(" ", ""), key, loose, loose_key)


def _negated_twin(phrase: Phrase, negators: frozenset[str]) -> Phrase | None:
    """泊まる所がない also means 泊まる所がありません / ないです / ねえ: the phrase without its ない, negated."""
    if phrase.negated or phrase.latin is not None or len(phrase.parts) != 1:
        return None
    lemmas = phrase.parts[0].lemmas
    if len(lemmas) < 2 or lemmas[-1] not in negators:
        return None
    stem = Part(lemmas[:-1], "", None)
    return Phrase(phrase.term, f"{NEGATED}{phrase.text}", (stem,), True, False, None)


def _compile_phrase(term: str, spec: TermSpec, text: str, tokenizer: Tokenizer) -> Phrase:
    negated = text.startswith(NEGATED)
    body = text.removeprefix(NEGATED).strip()
    surface_only = body.startswith(SURFACE_ONLY)
    body = body.removeprefix(SURFACE_ONLY).strip()
    norm = normalize(body, message=False)
    if norm.isascii() and GAP not in body:
        pattern = re.compile(rf"(?<![a-z]){re.escape(norm)}(?![a-z])")
        return Phrase(term, text, (), negated, False, pattern)
    parts = tuple(_compile_part(piece, spec, tokenizer, surface_only) for piece in body.split(GAP) if piece.strip())
    if not parts:
        raise LexiconError(f"terms.yaml: term {term!r} has an empty phrase {text!r}")
    key = parts[0].key if len(parts) == 1 else None
    fuzzy = spec.fuzzy and not negated and key is not None and len(key) >= MIN_FUZZY_KEY
    return Phrase(term, text, parts, negated, fuzzy, None)


def compile_lexicon(directory: Path = LEXICON_DIR, tokenizer: Tokenizer | None = None) -> CompiledLexicon:
    """Load, validate and compile the three lexicon files."""
    terms = _parse(TermsFile, directory / "terms.yaml").terms
    rules_file = _parse(RulesFile, directory / "rules.yaml")
    context = _parse(ContextFile, directory / "context.yaml")
    missing = [name for name in CONTEXT_TERMS if name not in terms]
    if missing:
        raise LexiconError(f"terms.yaml: the context terms {missing} are missing")
    for rule in rules_file.rules:
        for name in (*rule.all, *rule.unless, *rule.unless_in_sentence, *rule.unless_in_message):
            if name not in terms:
                raise LexiconError(f"rules.yaml: rule {rule.id!r} names unknown term {name!r}")
    asked = context.asked_not_paged
    unknown = sorted(name for name in (*asked.terms, *asked.unless_with) if name not in terms)
    if unknown:
        raise LexiconError(f"context.yaml: asked_not_paged names unknown terms {unknown}")

    tokenizer = tokenizer or Tokenizer(context.dialect)
    compiled = CompiledLexicon(
        rules=[
            Rule(
                id=rule.id,
                intent=rule.intent,
                urgency=rule.urgency,
                terms=tuple(rule.all),
                scope=rule.scope,
                alone=rule.alone,
                later_in_message=rule.later_in_message,
                unless=tuple(rule.unless),
                unless_in_sentence=tuple(rule.unless_in_sentence),
                unless_in_message=tuple(rule.unless_in_message),
                ignores=frozenset(rule.ignores),
                source=rule.source,
            )
            for rule in rules_file.rules
        ],
        negation=context.negation,
        lowered_to_check={str(intent): frozenset(mods) for intent, mods in context.lowered_to_check.items()},
        asked_not_paged=frozenset(context.asked_not_paged.terms),
        paged_with=frozenset(context.asked_not_paged.unless_with),
        tokenizer=tokenizer,
        dialect=dict(context.dialect),
        emoji=dict(context.emoji),
    )
    negators = frozenset(context.negation.negators)
    for name, spec in terms.items():
        compiled_phrases = [_compile_phrase(name, spec, text, tokenizer) for text in spec.phrases]
        twins = [twin for phrase in compiled_phrases if (twin := _negated_twin(phrase, negators)) is not None]
        for phrase in [*compiled_phrases, *twins]:
            index_phrase(compiled, phrase)
    return compiled


def index_phrase(compiled: CompiledLexicon, phrase: Phrase) -> None:
    """File one phrase under every lookup table that can find it."""
    compiled.phrases.append(phrase)
    if phrase.latin is not None:
        compiled.latin.append(phrase)
        return
    if phrase.lemmas:
        compiled.by_first_lemma[phrase.lemmas[0]].append(phrase)
    if len(phrase.parts) == 1 and phrase.parts[0].loose:
        compiled.by_first_loose[phrase.parts[0].loose[0]].append(phrase)
    loose_key = phrase.parts[0].loose_key if len(phrase.parts) == 1 else None
    if loose_key is not None and loose_key != phrase.key:
        compiled.by_loose_key_prefix[loose_key[:2]].append(phrase)
    if phrase.key is not None:
        compiled.by_key_prefix[phrase.key[:2]].append(phrase)
    if phrase.parts and len(phrase.parts[0].surface) >= 2:
        compiled.by_surface_prefix[phrase.parts[0].surface[:2]].append(phrase)
    if phrase.fuzzy and phrase.key is not None:
        compiled.fuzzy.append(phrase)
        compiled.fuzzy_keys.append(phrase.key)
