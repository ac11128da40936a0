"""Bounds on the work an unauthenticated client can cause, shared by one process's connections.

`Limits` holds the numbers the HTTP protocol (`ingest.protocol`) enforces per connection, the
connection cap fitted to the process's file-descriptor limit, and the counting and (rate-limited)
logging of what was refused. `BodyBudget` bounds the request bodies held in memory at once.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass, field

from ingest.metrics import Metrics
from ingest.settings import Settings

log = logging.getLogger("ingest.limits")
# File descriptors kept free of connections: log segments, Parquet files, the sealing process's
# pipes, metrics files, stdio, and LAST_CHANCE connections past twice the cap.
FD_RESERVE = 256
# Connections past twice the cap that still get a short chance to send their request and be
# answered 503 (a health check in a crowd of idle connections gets an answer, not a reset);
# past this many at once, a connection is closed as soon as it is accepted.
LAST_CHANCE = 32
_LOG_EVERY_SECONDS = 1.0
# Set on a request's scope by the protocol when it answered 408 for a body that did not arrive
# in time; the app then knows the disconnect it sees is not the client's doing.
BODY_TIMED_OUT = "ingest.body_timed_out"


def fit_connection_cap(wanted: int) -> tuple[int, int]:
    """(cap, limit of the file-descriptor soft limit) for this process. Connections up to twice
    the cap must fit beside FD_RESERVE: the soft RLIMIT_NOFILE is raised toward the hard limit
    for that, and the cap lowered if even that is not enough."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        if target > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass
    if soft != resource.RLIM_INFINITY and soft < need:
        return max(1, (soft - FD_RESERVE) // 2), soft
    return wanted, soft


@dataclass
class Limits:
    max_header_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    retry_after_seconds: int
    max_connections: int  # served; past it a connection's request is answered 503
    refuse_above: int  # past it only LAST_CHANCE connections at a time get an answer
    metrics: Metrics
    watching: bool = False  # the protocol's sweep of deadlines runs
    last_chance_open: int = 0  # connections past refuse_above waiting for their request
    _last_logged: dict[str, float] = field(default_factory=dict)
    _unlogged: Counter[str] = field(default_factory=Counter)

    @classmethod
    def for_process(cls, settings: Settings, metrics: Metrics) -> Limits:
        cap, nofile = fit_connection_cap(settings.max_connections)
        if cap < settings.max_connections:
            log.warning(
                "connection cap lowered to fit the file-descriptor limit",
                extra={
                    "fields": {
                        "event": "connection_cap_lowered",
                        "wanted": settings.max_connections,
                        "cap": cap,
                        "nofile": nofile,
                    }
                },
            )
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout_seconds=settings.header_timeout_seconds,
            body_timeout_seconds=settings.body_timeout_seconds,
            retry_after_seconds=settings.retry_after_seconds,
            max_connections=cap,
            refuse_above=2 * cap,
            metrics=metrics,
        )

    def rejected(self, status: int, reason: str, client: str | None) -> None:
        """A request answered with an error before it reached the app."""
        self.metrics.rejected.labels(reason).inc()
        self._log("delivery rejected", "delivery_rejected", reason, status=status, client=client)

    def dropped(self, reason: str, client: str | None) -> None:
        """A connection closed without an answer."""
        self.metrics.connections_dropped.labels(reason).inc()
        self._log("connection dropped", "connection_dropped", reason, client=client)

    def _log(self, msg: str, event: str, reason: str, **fields: object) -> None:
        # Refusals come in floods when they come: one line a second per reason, with a count.
        now = time.monotonic()
        key = f"{event}:{reason}"
        if now - self._last_logged.get(key, -_LOG_EVERY_SECONDS) < _LOG_EVERY_SECONDS:
            self._unlogged[key] += 1
            return
        self._last_logged[key] = now
        since = self._unlogged.pop(key, 0)
        log.warning(
            msg,
            extra={
                "fields": {"event": event, "reason": reason, **fields, "repeats_not_logged": since}
            },
        )


class BodyBudget:
    """Bytes of request bodies one process holds in memory, from the first byte read until the
    delivery is stored or refused, over all connections. A request that would take it past its
    total is refused at once, so memory for bodies stays bounded however many clients send."""

    __slots__ = ("total", "used")

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0

    def take(self, n: int) -> bool:
        if self.used + n > self.total:
            return False
        self.used += n
        return True

    def give(self, n: int) -> None:
        self.used -= n
