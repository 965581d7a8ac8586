"""Prometheus metrics: counters kept by this process, queue depth read from the database at scrape time.

One registry per app (not the global default), so tests can build several apps
in one process. Labels carry channel and kind only: never text or ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CLAIM_BUCKETS = (15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400)


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
        return generate_latest(self.registry)
