"""`send`: POST the stream to a running service, retrying like Violet (scaled down).

Deliveries go out in delivery-time order through at most `concurrency` requests in flight. Only a
2xx acknowledges a genuine delivery; anything else (a status or a transport error) is retried
after an exponential back-off (`backoff_base_s * 2**(attempt-1)`, capped at `backoff_cap_s`) up
to `max_attempts` attempts in all, as Violet retries for 24 h in the real world. A delivery with
a deliberately bad signature is sent once and expected to be refused with 401. Only loopback
hosts are accepted unless `allow_remote` is set: the stream carries the app's signatures.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from tqdm import tqdm

from simulator.deliveries import Delivery

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class RemoteHostRefused(ValueError):
    """The URL points beyond this machine and `allow_remote` was not given."""


def check_url(url: str, allow_remote: bool = False) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.hostname.lower() not in LOCAL_HOSTS and not allow_remote:
        raise RemoteHostRefused(
            f"refusing to send signed deliveries to {parts.hostname!r}: only localhost, "
            "127.0.0.1 and ::1 are allowed without --allow-remote"
        )


@dataclass
class SendSummary:
    """What happened to every delivery of the stream."""

    sent: int = 0  # deliveries attempted at least once
    acknowledged: int = 0  # genuine deliveries answered 2xx
    expected_401: int = 0  # bad-signature deliveries answered 401, as they should be
    failed: int = 0  # genuine deliveries never acknowledged after every attempt
    bad_signature_accepted: int = 0  # bad-signature deliveries answered 2xx: a service bug
    bad_signature_other: int = 0  # bad-signature deliveries answered something else
    attempts: int = 0
    retries: int = 0
    by_status: Counter[str] = field(default_factory=Counter)  # per attempt: "200", "error"
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.bad_signature_accepted == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "acknowledged_2xx": self.acknowledged,
            "expected_401": self.expected_401,
            "failed_after_retries": self.failed,
            "bad_signature_accepted": self.bad_signature_accepted,
            "bad_signature_other_status": self.bad_signature_other,
            "attempts": self.attempts,
            "retries": self.retries,
            "by_status": dict(sorted(self.by_status.items())),
            "elapsed_s": round(self.elapsed_s, 3),
        }


async def send_stream_async(
    deliveries: Iterable[Delivery],
    url: str,
    *,
    concurrency: int = 32,
    max_attempts: int = 5,
    backoff_base_s: float = 0.25,
    backoff_cap_s: float = 4.0,
    timeout_s: float = 10.0,
    allow_remote: bool = False,
    progress: bool = False,
    total: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SendSummary:
    """POST every delivery to `url`; see the module docstring for the retry rules."""
    check_url(url, allow_remote)
    if concurrency < 1 or max_attempts < 1:
        raise ValueError("concurrency and max_attempts must be at least 1")
    summary = SendSummary()
    source: Iterator[Delivery] = iter(deliveries)
    bar = tqdm(total=total, disable=not progress, unit="req", smoothing=0.05)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = httpx.create_ssl_context()  # built once: each client would load the CA bundle again
    started = time.perf_counter()

    async def post(client: httpx.AsyncClient, d: Delivery) -> None:
        summary.sent += 1
        expect_401 = not d.stored
        for attempt in range(1, max_attempts + 1):
            summary.attempts += 1
            status: int | None = None
            try:
                response = await client.post(url, content=d.body, headers=list(d.headers))
                status = response.status_code
                summary.by_status[str(status)] += 1
            except httpx.TransportError:
                summary.by_status["error"] += 1
            if expect_401:
                if status == 401:
                    summary.expected_401 += 1
                elif status is not None and 200 <= status < 300:
                    summary.bad_signature_accepted += 1
                else:
                    summary.bad_signature_other += 1
                return
            if status is not None and 200 <= status < 300:
                summary.acknowledged += 1
                return
            if attempt < max_attempts:
                summary.retries += 1
                await asyncio.sleep(min(backoff_cap_s, backoff_base_s * 2 ** (attempt - 1)))
        summary.failed += 1

    async def worker() -> None:
        # One client (one keep-alive connection) per worker: httpcore's shared pool scans every
        # connection for every request, which costs more CPU than the requests themselves.
        async with httpx.AsyncClient(
            transport=transport, timeout=timeout_s, limits=limits, verify=tls
        ) as client:
            for d in source:  # one shared iterator: each delivery is taken by one worker
                await post(client, d)
                bar.update(1)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        bar.close()
        summary.elapsed_s = time.perf_counter() - started
    return summary


def send_stream(
    deliveries: Iterable[Delivery],
    url: str,
    *,
    concurrency: int = 32,
    max_attempts: int = 5,
    backoff_base_s: float = 0.25,
    backoff_cap_s: float = 4.0,
    timeout_s: float = 10.0,
    allow_remote: bool = False,
    progress: bool = False,
    total: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SendSummary:
    """`send_stream_async` on its own event loop (call it from synchronous code)."""
    return asyncio.run(
        send_stream_async(
            deliveries,
            url,
            concurrency=concurrency,
            max_attempts=max_attempts,
            backoff_base_s=backoff_base_s,
            backoff_cap_s=backoff_cap_s,
            timeout_s=timeout_s,
            allow_remote=allow_remote,
            progress=progress,
            total=total,
            transport=transport,
        )
    )
