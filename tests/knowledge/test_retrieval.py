"""FAQ retrieval: questions in any spelling find their entry; what the FAQ does not cover gets no answer."""

from __future__ import annotations

import pytest

from bot.conversation import Context

FOUND = [
    ("でんわばんごう おしえて", "phone-number"),
    ("電話番号は？", "phone-number"),
    ("名前言わなくてもいい？", "anonymous"),
    ("グループホームってなに", "what-is-gh"),
    ("お金かかるの？", "cost"),
    ("データを消したい", "delete-data"),
]
NOT_FOUND = ["ラーメン屋おすすめ教えて", "明日の天気は？", "パスポートの申請方法"]


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
