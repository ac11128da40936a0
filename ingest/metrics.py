"""Prometheus metrics of one service instance.

With several worker processes (`--workers N`) the CLI sets PROMETHEUS_MULTIPROC_DIR before any
worker starts, and /metrics then sums every worker's values (prometheus_client's multiprocess
mode); with one process each app keeps its own registry.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as mp

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# The *_created series double the output and say nothing a scraper's own start time does not.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter(
            "violet_ingest_deliveries_accepted",
            "Deliveries durably logged and answered 2xx.",
            registry=r,
        )
        self.rejected = Counter(
            "violet_ingest_deliveries_rejected",
            "Deliveries answered non-2xx, by reason.",
            ["reason"],
            registry=r,
        )
        self.accepted_bytes = Counter(
            "violet_ingest_accepted_body_bytes", "Body bytes of accepted deliveries.", registry=r
        )
        self.fsync_seconds = Histogram(
            "violet_ingest_group_commit_seconds",
            "Time to write and fdatasync one group-commit batch of the log.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_records = Histogram(
            "violet_ingest_group_commit_records",
            "Deliveries made durable by one fdatasync.",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.store_errors = Counter(
            "violet_ingest_log_write_errors", "Failed log writes (answered 503).", registry=r
        )
        self.sealed_files = Counter(
            "violet_ingest_sealed_files", "Parquet files written by sealing.", registry=r
        )
        self.sealed_records = Counter(
            "violet_ingest_sealed_records", "Deliveries sealed into Parquet.", registry=r
        )
        self.seal_failures = Counter(
            "violet_ingest_seal_failures", "Sealing attempts that failed (retried).", registry=r
        )
        self.recovered_records = Counter(
            "violet_ingest_recovered_records",
            "Deliveries recovered from a log left by a stopped process.",
            registry=r,
        )
        self.torn_bytes = Counter(
            "violet_ingest_torn_log_bytes",
            "Bytes of torn (never acknowledged) log tail dropped at recovery.",
            registry=r,
        )
        self.seal_existing_files = Counter(
            "violet_ingest_seal_existing_files",
            "Seals that found the segment's Parquet file already there (a crash after its rename),"
            " by outcome: identical or kept (left as it was), merged (rewritten with the rows of"
            " both), unreadable (moved aside, written again from the log).",
            ["outcome"],
            registry=r,
        )
        self.seal_rows_missing_from_log = Counter(
            "violet_ingest_seal_rows_missing_from_log",
            "Rows an existing Parquet file held that its log segment no longer did (kept).",
            registry=r,
        )
        self.connections_open = Gauge(
            "violet_ingest_connections_open",
            "Client connections open now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.connections_dropped = Counter(
            "violet_ingest_connections_dropped",
            "Connections closed without an answer, by reason: idle_timeout (nothing sent in time),"
            " over_limit (past twice the connection cap), shutdown (request incomplete at a stop).",
            ["reason"],
            registry=r,
        )
        self.backlog_records = Gauge(
            "violet_ingest_log_backlog_records",
            "Deliveries in the log not yet sealed into Parquet.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.backlog_bytes = Gauge(
            "violet_ingest_log_backlog_bytes",
            "Log bytes not yet sealed into Parquet.",
            registry=r,
            multiprocess_mode="livesum",
        )

    def forget_dead_processes(self) -> None:
        """Drop the live gauges of worker processes that died without saying so (kill -9),
        so that the backlog shown is that of running workers only."""
        if self.multiprocess_dir is None:
            return
        for path in Path(self.multiprocess_dir).glob("gauge_live*_*.db"):
            pid = int(path.stem.rsplit("_", 1)[1])
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                mp.mark_process_dead(pid, self.multiprocess_dir)  # type: ignore[no-untyped-call]
            except PermissionError:
                pass

    def render(self) -> bytes:
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def process_exited(self) -> None:
        if self.multiprocess_dir is not None:
            mp.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]
