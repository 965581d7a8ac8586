"""The webhook bench in its shortest mode, on SQLite: a real server, the fake platform APIs, the floor, the table.

Timing is not asserted (a shared machine is not a stopwatch); correctness is: every event answered
200, none lost, none duplicated, every reply at the fake API once, and the table says so.
"""

from __future__ import annotations

import json

import pytest
from linebot.v3 import SignatureValidator
from linebot.v3.webhooks import Event, MessageEvent, TextMessageContent, UserSource

from tools.bench.webhooks import LINE_SECRET, TELEGRAM_SECRET, plan_events, run_webhook_bench


def test_events_are_signed_valid_distinct_and_alternate() -> None:
    texts = ["母が倒れました", "相談したいです"]
    events = plan_events(texts, rate=100, count=8, people=4, seed=1)
    assert [e.at for e in events] == [i / 100 for i in range(8)]
    assert [e.channel for e in events] == ["line", "telegram"] * 4
    assert len({e.key for e in events}) == 8
    assert len({e.address for e in events if e.channel == "line"}) == 2  # people go round in turn
    validator = SignatureValidator(LINE_SECRET)
    for event in events:
        body = json.loads(event.body)
        if event.channel == "line":
            assert validator.validate(event.body.decode(), event.headers["X-Line-Signature"])
            [raw] = body["events"]
            parsed = Event.from_dict(raw)  # what the receiver does: the SDK must accept it
            assert isinstance(parsed, MessageEvent) and isinstance(parsed.source, UserSource)
            assert isinstance(parsed.message, TextMessageContent) and parsed.message.text == event.text
            assert event.key == f"line:{raw['webhookEventId']}"
        else:
            assert event.headers["X-Telegram-Bot-Api-Secret-Token"] == TELEGRAM_SECRET
            assert body["message"]["from"]["is_bot"] is False
            assert body["message"]["chat"]["type"] == "private"
            assert event.key == f"telegram:{body['update_id']}"


@pytest.mark.slow
def test_quick_webhook_bench_on_sqlite_loses_and_duplicates_nothing() -> None:
    lines: list[str] = []
    figures = run_webhook_bench(lines.append, quick=True, databases=("sqlite",))
    text = "\n".join(lines)

    reals = [f for f in figures if not f.floor]
    [bare] = [f for f in figures if f.floor]
    assert [real.work_processes for real in reals] == [1, 2]
    assert not bare.skipped, bare.skipped
    assert bare.errors == 0 and bare.floor_rows == bare.sent == 100
    for real in reals:  # one work process, then two sharing the journal and the database
        assert not real.skipped, real.skipped
        assert real.sent == 100 and real.errors == 0
        assert real.checked is not None
        assert real.checked.lost == 0
        assert real.checked.duplicated == 0
        assert real.checked.unreplied == 0
        assert real.checked.missing == 0 and real.checked.twice == 0 and real.checked.unsent == 0
        assert real.checked.line_calls["line-loading"] == 50  # one per LINE text message
        assert real.checked.reply_after  # timed at the fake for every person whose replies all arrived
        assert real.work_rate > 0
        assert real.log_problems["Traceback"] == 0
    for label in (
        "events sent",
        "ack p50 ms",
        "ack p99 ms",
        "events lost",
        "events duplicated",
        "bodies stored by the floor",
        "all processed, s after the last 200",
        "ack -> first reply at the API p99 ms",
        "generator send lag p99 ms",
        "goals (issues #4, #12)",
        "work rate, events/s",
        "backlog drained, s after the last 200",
    ):
        assert label in text, label
    for label in ("events lost", "events duplicated"):
        row = next(line for line in lines if line.startswith(label))
        assert row.split()[2:4] == ["0", "0"], row
