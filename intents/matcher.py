"""Find lexicon terms in a tokenised message, then the rules they complete.

One pass collects every term match three ways: by lemma sequence (入院した ->
入院), by kana key (にゅーいん -> にゅいん) and, for terms marked ``fuzzy``, by
rapidfuzz partial alignment on the key (typos). Rules then ask for all of their
terms inside one sentence, and ``context`` decides whether each hit is meant
(negated? long past? in the news? hypothetical? another sense of the word?).

The output is evidence, not a decision: ``RuleHit`` lists what matched, where,
and why it was set aside if it was. The classifier decides.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from intents.context import Sentences, asks, modifiers_for, negation_at
from intents.kana import KanaKey, key_of_tokens
from intents.lexicon import MIN_FUZZY_KEY, CompiledLexicon, Phrase, Rule, droppable
from intents.tokens import Token

FUZZY_CUTOFF = 90.0
#: Typos are looked for in short messages only: there one typo can hide the only cue, and partial
#: alignment over long texts costs most of the classifier's time (measured: no change on dev or holdout).
FUZZY_MAX_MESSAGE = 40
GAP_TOKENS = 4
GAP_CHARS = 8
_MAX_READINGS = 24
_PARTICLE = "助詞"


@dataclass(frozen=True, slots=True)
class TermMatch:
    term: str
    phrase: str
    first: int  # token index
    last: int  # token index, exclusive
    how: str  # "lemma", "kana", "latin" or "fuzzy"


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule whose terms all matched; ``modifiers`` say why it may not be meant."""

    rule: Rule
    matches: tuple[TermMatch, ...]
    modifiers: frozenset[str]

    @property
    def active(self) -> bool:
        return not (self.modifiers - self.rule.ignores)

    def cue_text(self, tokens: list[Token], text: str) -> str:
        return "+".join(text[tokens[m.first].start : tokens[m.last - 1].end] for m in self.matches)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the matcher found in one message."""

    text: str
    tokens: list[Token]
    key: KanaKey
    matches: dict[str, list[TermMatch]]
    hits: list[RuleHit]


class _Found:
    """Collects term matches, applying negated phrases and dropping duplicates."""

    __slots__ = ("_lexicon", "_seen", "_tokens", "by_term")

    def __init__(self, tokens: list[Token], lexicon: CompiledLexicon) -> None:
        self._tokens = tokens
        self._lexicon = lexicon
        self._seen: set[tuple[str, int, int]] = set()
        self.by_term: dict[str, list[TermMatch]] = defaultdict(list)

    def add(self, phrase: Phrase, first: int, last: int, how: str) -> None:
        spec = self._lexicon.negation_spec
        if phrase.negated:
            negator = negation_at(self._tokens, last, spec, desire=False)
            if negator is None:
                return
            last = negator + 1
        elif (
            0 < last <= len(self._tokens)
            and self._tokens[last - 1].lemma in spec.negators
            and asks(self._tokens, last - 1, spec)
        ):
            return  # 泊まれるとこないべか asks for a place; it does not say there is none
        if (phrase.term, first, last) in self._seen:
            return
        self._seen.add((phrase.term, first, last))
        self.by_term[phrase.term].append(TermMatch(phrase.term, phrase.text, first, last, how))


def _follow_lemmas(lemmas: list[str], phrase: Phrase, end: int) -> int | None:
    """Match the phrase's later parts, each within GAP_TOKENS of the previous one."""
    for part in phrase.parts[1:]:
        width = len(part.lemmas)
        found = next(
            (
                j + width
                for j in range(end, min(len(lemmas), end + GAP_TOKENS + 1))
                if tuple(lemmas[j : j + width]) == part.lemmas
            ),
            None,
        )
        if found is None:
            return None
        end = found
    return end


def _lemma_matches(tokens: list[Token], lexicon: CompiledLexicon, found: _Found) -> None:
    lemmas = [token.lemma for token in tokens]
    for index, lemma in enumerate(lemmas):
        for phrase in lexicon.by_first_lemma.get(lemma, ()):
            end = index + len(phrase.lemmas)
            if tuple(lemmas[index:end]) != phrase.lemmas:
                continue
            last = _follow_lemmas(lemmas, phrase, end)
            if last is not None:
                found.add(phrase, index, last, "lemma")


def _loose_matches(tokens: list[Token], lexicon: CompiledLexicon, found: _Found) -> None:
    """Lemma sequences with the particles left out on both sides (薬たくさん飲んだ)."""
    kept = [i for i, token in enumerate(tokens) if not droppable(token)]
    lemmas = [tokens[i].lemma for i in kept]
    for index, lemma in enumerate(lemmas):
        for phrase in lexicon.by_first_loose.get(lemma, ()):
            loose = phrase.parts[0].loose
            assert loose is not None
            if tuple(lemmas[index : index + len(loose)]) == loose:
                found.add(phrase, kept[index], kept[index + len(loose) - 1] + 1, "lemma")


def _starts_on_other_particle(token: Token, phrase: Phrase) -> bool:
    """The text's word here is a particle the phrase does not start with: the letters only run on.

    かもしれない holds the letters of もし (if): か・も・しれ・ない starts もし on the particle も, and
    every hedged 「限界かもしれない」 would read as hypothetical.
    """
    lemmas = phrase.parts[0].lemmas  # none for a phrase matched as written only (=たことある)
    return token.pos == _PARTICLE and bool(lemmas) and lemmas[0] != token.lemma


def _surface_matches(tokens: list[Token], lexicon: CompiledLexicon, found: _Found) -> None:
    """The phrase as written (おかん, とまるとこ), starting where a token starts; spaces do not count."""
    text = "".join(token.surface for token in tokens)
    owner: list[int] = []
    starts: list[int] = []
    for index, token in enumerate(tokens):
        starts.append(len(owner))
        owner.extend([index] * len(token.surface))
    owner.append(len(tokens) - 1)
    for index in range(len(tokens)):
        position = starts[index]
        for phrase in lexicon.by_surface_prefix.get(text[position : position + 2], ()):
            first = phrase.parts[0].surface
            if not text.startswith(first, position) or _starts_on_other_particle(tokens[index], phrase):
                continue
            end = position + len(first)
            for part in phrase.parts[1:]:
                at = text.find(part.surface, end, end + GAP_CHARS + len(part.surface))
                if at < 0:
                    break
                end = at + len(part.surface)
            else:
                found.add(phrase, index, owner[max(end - 1, position)] + 1, "surface")


def _key_matches(key: KanaKey, lexicon: CompiledLexicon, found: _Found) -> None:
    text = key.text
    for start in range(len(text) - 1):
        if not key.starts_token(start):
            continue  # a match inside a word is another word (まって in こまって)
        prefix = text[start : start + 2]
        for phrase in lexicon.by_key_prefix.get(prefix, ()):
            assert phrase.key is not None
            if text.startswith(phrase.key, start):
                first, last = key.token_span(start, start + len(phrase.key))
                found.add(phrase, first, last, "kana")
        for phrase in lexicon.by_loose_key_prefix.get(prefix, ()):
            loose_key = phrase.parts[0].loose_key
            assert loose_key is not None
            if text.startswith(loose_key, start):
                first, last = key.token_span(start, start + len(loose_key))
                found.add(phrase, first, last, "kana")


def _latin_matches(text: str, tokens: list[Token], lexicon: CompiledLexicon, found: _Found) -> None:
    if not any(char.isascii() and char.isalpha() for char in text):
        return
    for phrase in lexicon.latin:
        assert phrase.latin is not None
        for hit in phrase.latin.finditer(text):
            covered = [i for i, t in enumerate(tokens) if t.start < hit.end() and t.end > hit.start()]
            if covered:
                found.add(phrase, covered[0], covered[-1] + 1, "latin")


def _fuzzy_matches(key: KanaKey, lexicon: CompiledLexicon, found: _Found) -> None:
    """Typos: a phrase key that aligns with part of the message key at a high ratio."""
    if not MIN_FUZZY_KEY <= len(key.text) <= FUZZY_MAX_MESSAGE:
        return
    # One pass in C over every fuzzy phrase; the alignment is worked out only for the few that pass.
    candidates = process.extract(
        key.text, lexicon.fuzzy_keys, scorer=fuzz.partial_ratio, score_cutoff=FUZZY_CUTOFF, limit=None
    )
    for _, _, index in candidates:
        phrase = lexicon.fuzzy[index]
        if found.by_term.get(phrase.term):
            continue  # already found exactly; a fuzzy match adds nothing
        assert phrase.key is not None
        hit = fuzz.partial_ratio_alignment(phrase.key, key.text, score_cutoff=FUZZY_CUTOFF)
        if hit is None or hit.dest_end - hit.dest_start < len(phrase.key) - 1 or not key.starts_token(hit.dest_start):
            continue
        first, last = key.token_span(hit.dest_start, hit.dest_end)
        found.add(phrase, first, last, "fuzzy")


def find_terms(text: str, tokens: list[Token], key: KanaKey, lexicon: CompiledLexicon) -> dict[str, list[TermMatch]]:
    found = _Found(tokens, lexicon)
    _lemma_matches(tokens, lexicon, found)
    _loose_matches(tokens, lexicon, found)
    _surface_matches(tokens, lexicon, found)
    _key_matches(key, lexicon, found)
    _latin_matches(text, tokens, lexicon, found)
    _fuzzy_matches(key, lexicon, found)
    return found.by_term


def _overlaps(a: TermMatch, b: TermMatch) -> bool:
    return a.first < b.last and b.first < a.last


def _rule_hits(
    rule: Rule, found: dict[str, list[TermMatch]], sentences: Sentences, tokens: list[Token], lexicon: CompiledLexicon
) -> list[RuleHit]:
    slots = [found.get(term, []) for term in rule.terms]
    if not all(slots):
        return []
    if rule.alone:
        words = [i for i, token in enumerate(tokens) if not token.is_punct and token.pos not in {"助詞", "助動詞"}]
        covered = {i for slot in slots for m in slot for i in range(m.first, m.last)}
        if not words or not set(words) <= covered:
            return []
    groups = [None] if rule.scope == "message" else sorted({sentences.of(m.first) for m in slots[0]})
    hits = []
    for group in groups:
        in_group = [[m for m in slot if group is None or sentences.of(m.first) == group] for slot in slots]
        if not all(in_group):
            continue
        # Every reading of the sentence is tried; one that is meant is enough (死にたいわけじゃないけど消えたい).
        readings = [
            _hit(rule, combo, tokens, sentences, found, lexicon)
            for combo in itertools.islice(itertools.product(*in_group), _MAX_READINGS)
        ]
        hits.append(next((hit for hit in readings if hit.active), readings[0]))
    return hits


def _hit(
    rule: Rule,
    picked: tuple[TermMatch, ...],
    tokens: list[Token],
    sentences: Sentences,
    found: dict[str, list[TermMatch]],
    lexicon: CompiledLexicon,
) -> RuleHit:
    modifiers = set(modifiers_for(picked, tokens, sentences, found, lexicon.negation_spec, rule.later_in_message))
    blockers = [m for term in rule.unless for m in found.get(term, [])]
    if any(_overlaps(blocker, match) for blocker in blockers for match in picked):
        modifiers.add("other_sense")
    sentence = sentences.of(picked[-1].first)
    if any(sentences.of(m.first) == sentence for term in rule.unless_in_sentence for m in found.get(term, [])):
        modifiers.add("other_sense")
    if any(found.get(term) for term in rule.unless_in_message):
        modifiers.add("other_sense")
    return RuleHit(rule, picked, frozenset(modifiers))


def analyse(text: str, tokens: list[Token], lexicon: CompiledLexicon) -> Analysis:
    """Match terms and rules in a normalised, tokenised message."""
    key = key_of_tokens(tokens)
    found = find_terms(text, tokens, key, lexicon)
    sentences = Sentences(tokens)
    hits = [hit for rule in lexicon.rules for hit in _rule_hits(rule, found, sentences, tokens, lexicon)]
    return Analysis(text, tokens, key, dict(found), hits)


__all__ = ["Analysis", "Phrase", "RuleHit", "TermMatch", "analyse", "find_terms"]
