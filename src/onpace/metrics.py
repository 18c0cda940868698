"""The operators' metrics in the Prometheus format: what each process measures, and the exposition.

Two kinds of figures:

- **Measured in the process** (counters and histograms): HTTP requests by route template, method
  and status, and their durations; evaluation and ingestion durations. Each process counts its
  own. When ``PROMETHEUS_MULTIPROC_DIR`` names a folder shared by the processes of one machine
  (``onpace serve --workers N`` makes one for its processes when none is set), prometheus-client's
  multiprocess mode adds them up at scrape time; otherwise ``/metrics`` shows the answering
  process's own counts (Prometheus sums ``rate()`` over restarts and scrapes, not over processes).
- **Read from the store at scrape time** (:mod:`onpace.storage.repositories.metrics_repo`): queue
  depth, delivery attempts by result and open cases by kind, the same whichever process answers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from onpace.storage.repositories.metrics_repo import StoreCounts

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

PROCESS = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "onpace_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=PROCESS,
)
REQUEST_SECONDS = Histogram(
    "onpace_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    registry=PROCESS,
)
EVALUATION_SECONDS = Histogram(
    "onpace_evaluation_duration_seconds",
    "Time to evaluate an organisation's KPIs and key results as of one date.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=PROCESS,
)
INGEST_SECONDS = Histogram(
    "onpace_ingest_duration_seconds",
    "Time to ingest one batch of actuals (a file, a pull or a push).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=PROCESS,
)


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe the duration of the block in ``histogram`` (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - start)


class StoreCollector(Collector):
    """Turn :class:`StoreCounts` into metric families, labelled by organisation."""

    def __init__(self, counts: StoreCounts) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        """Yield queue depth, delivery attempts and open cases."""
        depth = GaugeMetricFamily(
            "onpace_queue_depth",
            "Work waiting: undelivered outbox events and due background jobs.",
            labels=["queue", "org"],
        )
        for org, n in sorted(self.counts.outbox_pending.items()):
            depth.add_metric(["outbox", org], n)
        for org, n in sorted(self.counts.jobs_due.items()):
            depth.add_metric(["jobs", org], n)
        yield depth
        deliveries = CounterMetricFamily(
            "onpace_delivery_attempts",
            "Delivery attempts recorded in the store, by result.",
            labels=["result", "org"],
        )
        for (org, result), n in sorted(self.counts.deliveries.items()):
            deliveries.add_metric([result, org], n)
        yield deliveries
        cases = GaugeMetricFamily("onpace_open_cases", "Open cases, by kind.", labels=["kind", "org"])
        for (org, kind), n in sorted(self.counts.open_cases.items()):
            cases.add_metric([kind, org], n)
        yield cases


def exposition(counts: StoreCounts) -> bytes:
    """Return the metrics text: this machine's processes (or this process) and the store's figures."""
    if os.environ.get(MULTIPROC_VARIABLE):
        measured = CollectorRegistry()
        multiprocess.MultiProcessCollector(measured)  # type: ignore[no-untyped-call]
    else:
        measured = PROCESS
    from_store = CollectorRegistry(auto_describe=True)
    from_store.register(StoreCollector(counts))
    return generate_latest(measured) + generate_latest(from_store)
