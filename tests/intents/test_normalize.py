"""Normalisation tables. Written against unidic-lite 1.0.8; normalisation itself needs no dictionary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intents.normalize import normalize, romaji_to_kana

EMOJI = {"💊": "薬"}

CASES = [
    ("ＯＤしちゃった", "odしちゃった"),  # full width to half width, lower case
    ("ｼﾆﾀｲ", "しにたい"),  # half-width katakana; a message all in katakana is read as Japanese words
    ("にゅーいん", "にゅういん"),  # long-vowel mark spelled out inside a hiragana word
    ("たすけてー！！！", "たすけて!"),  # emphatic mark dropped, shouting cut
    ("グループホーム", "グループホーム"),  # katakana long vowels stay
    ("ｗｗｗｗ草", "w草"),
    ("薬💊のんだ😭もうむり", "薬薬のんだ。もうむり"),  # known emoji to a word, others to a break
    ("おかーさんが\nたおれた", "おかあさんが。たおれた"),  # line break ends a sentence
    ("1000円", "1000円"),  # digits are never cut
    ("haha ga taoreta", "はは が たおれた"),  # romaji
    ("help me", "help me"),  # English stays
    ("DVです", "dvです"),  # an abbreviation stays
    ("モウ ツカレタ。キエタイ。", "もう つかれた。きえたい。"),  # a sentence typed in katakana
    ("ハハ タオレタ ショートステイ", "はは たおれた ショートステイ"),  # loanwords (long-vowel mark) stay
    ("ドラマみたい", "ドラマみたい"),  # katakana inside ordinary writing stays
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_it_normalises(raw: str, expected: str) -> None:
    assert normalize(raw, EMOJI) == expected


def test_lexicon_phrases_keep_katakana_words() -> None:
    assert normalize("アニメ", message=False) == "アニメ"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("shinitai", "しにたい"), ("kusuri takusan nonda", "くすり たくさん のんだ"), ("ok", "ok"), ("test", "test")],
)
def test_it_reads_romaji_only_when_it_is_romaji(raw: str, expected: str) -> None:
    assert romaji_to_kana(raw) == expected


@given(st.text(max_size=200))
def test_it_never_fails_and_never_grows_wildly(text: str) -> None:
    out = normalize(text, EMOJI)
    assert isinstance(out, str)
    assert len(out) <= 3 * len(text) + 3  # an emoji may become a word; nothing else grows
