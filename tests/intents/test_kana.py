"""Kana keys: spellings people do not hear apart share one key (unidic-lite 1.0.8)."""

from __future__ import annotations

import pytest

from intents import Tokenizer
from intents.kana import key_of_tokens
from intents.normalize import normalize


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def key(tokenizer: Tokenizer, text: str) -> str:
    return key_of_tokens(tokenizer.tokenize(normalize(text))).text


@pytest.mark.parametrize("variant", ["にゅういん", "にゅーいん", "ニューイン", "入院"])
def test_spellings_of_one_word_share_a_key(tokenizer: Tokenizer, variant: str) -> None:
    assert key(tokenizer, variant) == key(tokenizer, "入院")


def test_long_vowels_are_squeezed_only_inside_a_word(tokenizer: Tokenizer) -> None:
    # があると|受け: the う starts a new word and must not be dropped (it would make 蹴られ appear).
    assert "うけられ" in key(tokenizer, "借金があると受けられませんか")


def test_key_characters_map_back_to_their_tokens(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("母が入院")
    k = key_of_tokens(tokens)
    start = k.text.index("にゅいん")
    first, last = k.token_span(start, start + 4)
    assert [t.surface for t in tokens[first:last]] == ["入院"]
    assert k.starts_token(start)
