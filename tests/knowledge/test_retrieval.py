"""FAQ retrieval: questions in any spelling find their entry; what the FAQ does not cover gets no answer."""

from __future__ import annotations

import pytest

from bot.conversation import Context
from knowledge.retrieval import THRESHOLD, decided

FOUND = [
    ("でんわばんごう おしえて", "phone-number"),
    ("電話番号は？", "phone-number"),
    ("名前言わなくてもいい？", "anonymous"),
    ("グループホームってなに", "what-is-gh"),
    ("お金かかるの？", "cost"),
    ("データを消したい", "delete-data"),
    # Words of a synonym group (synonyms.yaml) count as the group's word.
    ("相談するのってタダ？", "cost"),
    ("週末もやってますか", "night-weekend"),
    # A question typed in kana is also compared by its reading: むりょう meets 無料.
    ("むりょうですか", "cost"),
    # A greeting and a reason before the question: the question's own sentence is compared too.
    ("夜分に失礼します。父のことでずっと悩んでいました。センターの電話番号を教えてください", "phone-number"),
]
NOT_FOUND = ["ラーメン屋おすすめ教えて", "明日の天気は？", "パスポートの申請方法", "市役所の窓口は何時まで開いてますか"]


@pytest.mark.parametrize(("question", "entry"), FOUND)
def test_it_finds_the_entry(ctx: Context, question: str, entry: str) -> None:
    hit = ctx.faq("nemuro").best(question)
    assert hit is not None and hit.answer.id == entry, ctx.faq("nemuro").search(question)


@pytest.mark.parametrize("question", NOT_FOUND)
def test_it_abstains(ctx: Context, question: str) -> None:
    assert ctx.faq("nemuro").best(question) is None


def test_answers_are_rendered_for_the_region(ctx: Context) -> None:
    hit = ctx.faq("nemuro").best("電話番号は？")
    assert hit is not None and "0153-73-3178" in hit.answer.text


def test_a_near_tie_is_declined_and_a_clear_lead_answered() -> None:
    """Whether to answer depends on how far the best entry leads the next one, not on its score alone."""
    assert decided(0.40, 0.38) < THRESHOLD <= 0.40  # close to the question, but another entry is as close
    assert decided(0.25, 0.05) >= THRESHOLD > 0.25  # modest, but nothing else comes near


def test_a_lead_does_not_raise_an_entry_that_misses_a_noun_of_the_question() -> None:
    """「パスポートの申請方法」 leads on 申請方法 alone: the entry never speaks of パスポート."""
    assert decided(0.25, 0.05, strangers=1) == 0.25 < THRESHOLD
    assert decided(0.40, 0.38, strangers=1) == decided(0.40, 0.38)  # a near tie still lowers
