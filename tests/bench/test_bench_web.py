"""The web chat bench in its shortest mode, on SQLite: it starts a real server, drives it and prints its table.

Timing is not asserted (a shared machine is not a stopwatch); correctness is: every message answered
200, every urgent message paged, every page sent, and the table says so.
"""

from __future__ import annotations

import math

import pytest

from tools.bench.web import percentile, plan_shots, run_web_bench


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert math.isnan(percentile([], 99))


def test_shots_are_steady_round_the_people_and_repeatable() -> None:
    texts = [("a", False), ("b", True), ("c", False)]
    shots = plan_shots(texts, rate=50, count=10, people=4, seed=1)
    assert [shot.at for shot in shots] == [i / 50 for i in range(10)]
    assert [shot.person for shot in shots] == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert shots == plan_shots(texts, rate=50, count=10, people=4, seed=1)


@pytest.mark.slow
def test_quick_web_bench_on_sqlite_answers_and_pages_everything() -> None:
    lines: list[str] = []
    [figures] = run_web_bench(lines.append, quick=True, databases=("sqlite",))
    text = "\n".join(lines)

    assert not figures.skipped, figures.skipped
    assert figures.sent == 100
    assert figures.errors == 0
    assert figures.urgent > 0 and figures.unpaged == 0
    assert figures.unsent == 0
    assert figures.log_problems["database is locked"] == 0
    assert figures.log_problems["Traceback"] == 0
    for label in (
        "messages sent",
        "errors (non-200 or no answer)",
        "achieved msgs/s",
        "latency p50 ms",
        "latency p99 ms",
        "urgent -> page enqueued p99 ms",
        "page enqueued -> sent p99 ms",
    ):
        assert label in text, label
    row = next(line for line in lines if line.startswith("errors (non-200"))
    assert row.split()[-1] == "0"
