"""Prometheus metrics: counters kept by this process, queue depth read from the database at scrape time.

One registry per app (not the global default), so tests can build several apps
in one process. Labels carry channel and kind only: never text or ids.

The work processes ``madoguchi serve`` starts keep counters of their own (the
messages and pages they send). Each writes them every few seconds to a file in
a directory ``serve`` gives it (``write_to``), and the web app's ``/metrics``
adds them to its own (``include``): one scrape shows the whole machine. Why
files and not Prometheus's multiprocess mode: that mode is switched on for the
whole interpreter by an environment variable, which would merge the separate
registries the tests build. A file is at most ``WRITE_EVERY`` seconds behind,
and stays after its process exits, so the sums never go down while ``serve`` runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

CLAIM_BUCKETS = (15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400)
WRITE_EVERY = 5.0  # seconds between a work process's snapshots


class _QueueDepth(Collector):
    def __init__(self, read: Callable[[], Mapping[str, int]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            "madoguchi_queue_depth", "Cases waiting for a coordinator, by urgency", labels=["urgency"]
        )
        for urgency, count in sorted(self.read().items()):
            gauge.add_metric([urgency], count)
        yield gauge


class Metrics:
    def __init__(self) -> None:
        self.shared: Path | None = None  # where the work processes write their counters (``include``)
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "madoguchi_messages_in", "Messages received from people", ["channel"], registry=self.registry
        )
        self.messages_out = Counter(
            "madoguchi_messages_out", "Messages and pages delivered", ["channel", "kind"], registry=self.registry
        )
        self.outbox_retries = Counter(
            "madoguchi_outbox_retries",
            "Deliveries that failed and were scheduled again",
            ["channel"],
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "madoguchi_outbox_failures",
            "Deliveries given up (permanent error or attempts spent)",
            ["channel"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "madoguchi_webhook_events",
            "Webhook events by result: stored, duplicate (a redelivery), refused (bad signature)",
            ["channel", "result"],
            registry=self.registry,
        )
        self.pages = Counter("madoguchi_pages", "Pages sent to coordinators", ["level"], registry=self.registry)
        self.time_to_claim = Histogram(
            "madoguchi_time_to_claim_seconds",
            "From entering the queue to being claimed",
            ["urgency"],
            buckets=CLAIM_BUCKETS,
            registry=self.registry,
        )

    def watch_queue(self, read: Callable[[], Mapping[str, int]]) -> None:
        """Report the queue depth that ``read`` returns (``{"urgent": n, "normal": m}``) on every scrape."""
        self.registry.register(_QueueDepth(read))

    def render(self) -> bytes:
        if self.shared is None:
            return generate_latest(self.registry)
        return generate_latest(_Merged(self.registry, self.shared))

    def include(self, directory: Path) -> None:
        """Add the counters the work processes write to ``directory`` to every scrape of this app."""
        self.shared = directory

    def write_to(self, directory: Path) -> None:
        """This process's counters, as one file in ``directory`` (replaced whole: a reader never sees half)."""
        target = directory / f"work-{os.getpid()}.prom"
        partial = target.with_suffix(".partial")
        partial.write_bytes(generate_latest(self.registry))
        partial.replace(target)


class _Merged:
    """This app's metrics plus the work processes' files: the same series summed, new ones added."""

    def __init__(self, registry: CollectorRegistry, directory: Path) -> None:
        self.registry, self.directory = registry, directory

    def collect(self) -> Iterable[Metric]:
        families = {family.name: family for family in self.registry.collect()}
        for file in sorted(self.directory.glob("*.prom")):
            for family in text_string_to_metric_families(file.read_text()):
                ours = families.setdefault(family.name, family)
                if ours is not family:
                    ours.samples = _summed(ours, family)
        return list(families.values())


def _summed(ours: Metric, theirs: Metric) -> list[Sample]:
    """Counter and histogram samples added up by name and labels (``_created`` times are not sums: ours stay)."""
    samples = {(s.name, tuple(sorted(s.labels.items()))): s for s in ours.samples}
    for sample in theirs.samples:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        if key not in samples:
            samples[key] = sample
        elif not sample.name.endswith("_created"):
            samples[key] = samples[key]._replace(value=samples[key].value + sample.value)
    return list(samples.values())
