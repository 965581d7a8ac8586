"""The web app's ``/metrics`` adds the counters its work processes write (``bot.metrics``)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics


def _values(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_the_work_processes_counters_are_added_to_the_web_apps(tmp_path: Path) -> None:
    web, first, second = Metrics(), Metrics(), Metrics()
    web.messages_out.labels("web", "reply").inc(2)
    first.messages_out.labels("line", "reply").inc(3)
    second.messages_out.labels("line", "reply").inc(4)
    second.pages.labels("first").inc()
    second.time_to_claim.labels("urgent").observe(40)
    web.time_to_claim.labels("urgent").observe(20)
    first.write_to(tmp_path)
    web.include(tmp_path)
    before = _values(web)
    (tmp_path / "work-2.prom").write_bytes(second.render())  # as a second process would name it

    seen = _values(web)

    line = ("madoguchi_messages_out_total", (("channel", "line"), ("kind", "reply")))
    assert before[line] == 3 and seen[line] == 7
    assert seen[("madoguchi_messages_out_total", (("channel", "web"), ("kind", "reply")))] == 2
    assert seen[("madoguchi_pages_total", (("level", "first"),))] == 1
    assert seen[("madoguchi_time_to_claim_seconds_count", (("urgency", "urgent"),))] == 2
    assert seen[("madoguchi_time_to_claim_seconds_sum", (("urgency", "urgent"),))] == 60
    assert _values(Metrics()) == {}  # nothing included: only this app's own (none yet)


def test_a_snapshot_replaces_the_last_one_whole(tmp_path: Path) -> None:
    work = Metrics()
    work.pages.labels("first").inc()
    work.write_to(tmp_path)
    work.pages.labels("first").inc()
    work.write_to(tmp_path)
    web = Metrics()
    web.include(tmp_path)
    assert [file.suffix for file in tmp_path.iterdir()] == [".prom"]
    assert _values(web)[("madoguchi_pages_total", (("level", "first"),))] == 2
