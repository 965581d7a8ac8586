"""Kana keys: a loose reading of a text that survives spelling variants.

The tokeniser gives up on casual hiragana (にゅーいん splits into symbols,
はは becomes a laugh), but the *sound* of the text is still there. A kana key is
the hiragana reading with the differences people do not hear squeezed out:
long vowels (にゅういん, にゅーいん and ニューイン all give ``にゅいん``), small
vowels, ぢ/じ and づ/ず, doubled letters. Lexicon phrases get keys the same way,
so matching is symmetric. Each character of a key remembers which token it
came from, so a match maps back to tokens for the context rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from intents.normalize import VOWEL_OF
from intents.tokens import Token

_FOLD = str.maketrans(
    {"ぢ": "じ", "づ": "ず", "を": "お", "ぁ": "あ", "ぃ": "い", "ぅ": "う", "ぇ": "え", "ぉ": "お", "ゎ": "わ"}
)
_EXTENDS = {"あ": "あ", "い": "いえ", "う": "うお", "え": "え", "お": "お"}  # a vowel that lengthens these


@dataclass(frozen=True, slots=True)
class KanaKey:
    text: str
    owners: tuple[int, ...]  # token index of each character

    def starts_token(self, index: int) -> bool:
        """True when key character ``index`` is the first one of its token (matches must start there)."""
        return index == 0 or self.owners[index] != self.owners[index - 1]

    def token_span(self, start: int, end: int) -> tuple[int, int]:
        """The tokens [first, last + 1) covered by key characters [start, end)."""
        return self.owners[start], self.owners[end - 1] + 1


def squeeze(chars: Sequence[tuple[str, int]]) -> KanaKey:
    """Apply the folding rules to (character, owner) pairs."""
    out: list[str] = []
    owners: list[int] = []
    for raw, owner in chars:
        char = raw.translate(_FOLD)
        if char in "ー〜~":
            continue
        if out and owners[-1] == owner:  # only inside one token: があると|受け must not become がるとけ
            previous = out[-1]
            if char == previous:
                continue
            previous_vowel = VOWEL_OF.get(previous)
            if previous_vowel is not None and char in _EXTENDS and previous_vowel in _EXTENDS[char]:
                continue
        out.append(char)
        owners.append(owner)
    return KanaKey("".join(out), tuple(owners))


def key_of_tokens(tokens: Sequence[Token]) -> KanaKey:
    chars = [(char, index) for index, token in enumerate(tokens) for char in token.kana]
    return squeeze(chars)
