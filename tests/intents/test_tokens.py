"""Tokens carry UniDic lemmas, so inflected and kana-written forms meet (unidic-lite 1.0.8)."""

from __future__ import annotations

import pytest

from intents import Tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer({"なまら": "とても"})


@pytest.mark.parametrize(
    ("text", "lemma"),
    [
        ("入院しちゃって", "入院"),
        ("にゅういん", "入院"),
        ("倒れた", "倒れる"),
        ("グループホーム", "グループ"),
        ("しにたい", "死ぬ"),
    ],
)
def test_it_gives_the_lemma(tokenizer: Tokenizer, text: str, lemma: str) -> None:
    assert tokenizer.tokenize(text)[0].lemma == lemma


def test_dialect_aliases_replace_the_misreading(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("なまらしんどい")[0].lemma == "とても"


def test_offsets_point_into_the_text(tokenizer: Tokenizer) -> None:
    text = "母 が  入院"
    for token in tokenizer.tokenize(text):
        assert text[token.start : token.end] == token.surface


def test_readings_are_hiragana(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("入院")[0].kana == "にゅういん"
