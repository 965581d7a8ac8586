"""``madoguchi drill`` in small nights, on SQLite: a real server, the fake platforms, a rota that half sleeps.

Timing is not asserted (a shared machine is not a stopwatch). What is asserted is that the printed figures
are counted from what happened: a night where the coordinators answer ends with every case claimed, and a
night where nobody answers in time ends with none claimed, more re-pages, and every person still told.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.conversation import Context, Inbound, PersonState, respond
from tools.drill import URGENT_TEXTS, Figures, Plan, run_drill


@pytest.mark.parametrize("text", URGENT_TEXTS)
def test_every_drill_message_pages_at_once(ctx: Context, text: str) -> None:
    reading = respond(PersonState.new("nemuro"), Inbound(text, dt.datetime.now(dt.UTC)), ctx).reading
    assert reading is not None and str(reading.urgency) == "now"


def _figure(lines: list[str], name: str) -> str:
    (line,) = [line for line in lines if line.strip().startswith(name)]
    return line.split(":", 1)[1].strip()


def _drill(plan: Plan) -> tuple[Figures, list[str]]:
    lines: list[str] = []
    return run_drill(lines.append, plan), lines


def test_a_night_where_coordinators_answer_ends_with_every_case_claimed() -> None:
    figures, lines = _drill(Plan(cases=5, night=3.0, deadline=2.0, claim_after=(0.3, 3.0), seed=3))
    assert figures.people == 5 and figures.paged == 5
    assert figures.claimed == 5 and figures.unreached == 0 and figures.untold == 0
    assert figures.presses >= 5  # someone pressed 受ける on every case (both may press one)
    assert figures.page_p50 is not None and figures.page_p99 is not None
    assert 0 < figures.page_p50 <= figures.page_p99
    assert figures.claim_p50 is not None and figures.claim_p99 is not None and figures.claim_p50 <= figures.claim_p99
    # the printed lines say what the figures say
    assert _figure(lines, "claimed").startswith("5/5 (100%)")
    assert _figure(lines, "time to page p50 / p99").startswith(f"{figures.page_p50:.2f} s / {figures.page_p99:.2f} s")
    assert _figure(lines, "re-pages").startswith(str(figures.repages))
    assert _figure(lines, "people left without a message") == "0"


def test_a_night_where_nobody_answers_in_time_keeps_paging_and_telling_people() -> None:
    # the answering coordinators would press after 1000 s: the drill gives up 7 s after the last message
    figures, lines = _drill(Plan(cases=3, night=1.0, deadline=2.0, claim_after=(1000.0, 1000.0), timeout=7.0))
    assert figures.people == 3 and figures.paged == 3
    assert figures.claimed == 0 and figures.claim_p50 is None
    assert _figure(lines, "claimed").startswith("0/3 (0%)")
    assert _figure(lines, "time to claim p50 / p99") == "— / —"
    # about 4 deadlines each in 8 s: the next one on call, everyone, then everyone again (the ladder never ends)
    assert figures.most_repages >= 3 and figures.repages >= 3 * 2
    assert re.match(rf"{figures.repages} \(at most {figures.most_repages} for one case\)", _figure(lines, "re-pages"))
    assert figures.unreached == 0 and figures.untold == 0  # every re-page was told to the person
