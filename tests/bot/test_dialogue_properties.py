"""Any sequence of messages and button presses, in any phase: the engine never crashes, always answers,
never leaves a person without a next step, and never lets a risk it was told about go unraised."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation import Context, Escalate, Inbound, Kind, Outcome, PersonState, respond
from bot.conversation.model import Phase

AT = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)
#: A mix of what people write: urgent news, risk cues the bot must ask about, answers, questions, small talk.
TEXTS = [
    "母が倒れて救急車で運ばれました。弟がひとりです",
    "前は死にたいと思ってた時期もありました",
    "闇金から借りてしまって毎日電話がきます",
    "もう死にたい",
    "いいえ",
    "はい",
    "わからない",
    "中標津町です",
    "ひとり",
    "電話番号は？",
    "相談ってタダ？",
    "グループホームの体験をしてみたい",
    "データを消して",
    "消す",
    "やめる",
    "もういい",
    "スキップ",
    "こんにちは",
    "ありがとう",
    "😢",
    "…",
]
STEPS = st.lists(
    st.one_of(
        st.sampled_from(TEXTS).map(lambda text: ("text", text)),
        st.just(("press", "")),
        st.just(("sticker", "（スタンプ）")),
    ),
    min_size=1,
    max_size=8,
)


def _step(state: PersonState, step: tuple[str, str], last_choices: list[tuple[str, str]], ctx: Context) -> Outcome:
    kind, text = step
    if kind == "press" and last_choices:
        label, value = last_choices[len(state.facts.intents) % len(last_choices)]
        return respond(state, Inbound(label, AT, value), ctx)
    if kind == "sticker":
        return respond(state, Inbound(text, AT, kind=Kind.MEDIA), ctx)
    return respond(state, Inbound(text or "こんにちは", AT), ctx)


@settings(max_examples=60, deadline=None)
@given(steps=STEPS)
def test_any_conversation_is_answered_and_risk_is_raised(ctx: Context, steps: list[tuple[str, str]]) -> None:
    state = PersonState.new("nemuro")
    choices: list[tuple[str, str]] = []
    for step in steps:
        outcome = _step(state, step, choices, ctx)
        state, replies = outcome.state, outcome.replies
        assert replies and all(reply.text.strip() for reply in replies), step
        choices = [(c.label, c.value) for c in replies[-1].choices]
        if state.phase == Phase.CHECK:
            assert state.checking is not None and choices, "the check question always has its buttons"
        reading = outcome.reading
        if reading is not None and reading.urgent:
            assert state.facts.urgent, f"urgent news left unraised: {step}"
    assert state.region == "nemuro"


def test_a_risk_told_in_the_middle_of_a_normal_intake_is_escalated(ctx: Context) -> None:
    state = PersonState.new("nemuro")
    for text, choice in (("グループホームの体験をしてみたい", None), ("はい", "yes"), ("もう死にたい", None)):
        outcome = respond(state, Inbound(text, AT, choice), ctx)
        state = outcome.state
    assert any(isinstance(e, Escalate) and e.urgent for e in outcome.effects)
