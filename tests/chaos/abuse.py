"""Unauthenticated abuse while good traffic flows: idle and slow connections, oversize headers
and bodies, bad-signature floods. Each kind is bounded in count and time; the service must
bound its memory, file descriptors and connections, close what abuses it within the issue's
30 s, and keep answering good deliveries (their p50/p99 are measured during each kind).

The service runs with RLIMIT_NOFILE 1024 (the usual default), so 1,100 idle connections are
more than it can hold: past its connection cap it must answer clearly (503, or refuse at
accept) rather than run out of file descriptors.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.chaos.service import Service, percentile
from tests.chaos.traffic import ATTEMPT, Ledger, RawCheck, check_raw
from tests.support import make_delivery

CLOSE_WITHIN_S = 30.0  # the fault probe's limit for a connection that does nothing useful
# Bounded, not small: the pending-body budget (VIOLET_MAX_PENDING_BODY_BYTES, 64 MB) plus the
# oversize-header connections' buffers plus what the allocator keeps; all kinds at once grew
# 109-200 MB over this session's runs (one CI run reached 200), the unbounded service of the
# fault probe 574 MB for 500 connections.
RSS_GROWTH_LIMIT = 256 << 20
NOFILE = 1024


@dataclass
class KindResult:
    kind: str
    opened: int = 0  # connections / requests of the abuse
    answers: Counter[str] = field(default_factory=Counter)  # what the abusive clients got
    open_after_s: int = 0  # abusive connections still open CLOSE_WITHIN_S after they began
    good: Counter[str] = field(default_factory=Counter)  # statuses of good attempts meanwhile
    good_p50_ms: float = 0.0
    good_p99_ms: float = 0.0
    rss_peak_mb: float = 0.0
    rss_growth_mb: float = 0.0
    fds_peak: int = 0
    connections_peak: int = 0
    readyz: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class AbuseResult:
    kinds: list[KindResult] = field(default_factory=list)
    raw: RawCheck = field(default_factory=RawCheck)
    stop_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    baseline_rss_mb: float = 0.0
    baseline_fds: int = 0


def _connect(port: int) -> socket.socket | None:
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def _closed(s: socket.socket, answers: Counter[str]) -> bool:
    """True once the service has answered or closed the connection (reads what it sent)."""
    while True:
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            answers["reset"] += 1
            return True
        if not data:
            answers["closed"] += 1
            return True
        if data.startswith(b"HTTP/1.1 "):
            answers[data[9:12].decode(errors="replace")] += 1


def _send_quietly(s: socket.socket, data: bytes) -> bool:
    try:
        s.send(data)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return True


class _Good(threading.Thread):
    """Good deliveries one after another, each until acknowledged (as Violet retries)."""

    def __init__(self, service: Service, ledger: Ledger) -> None:
        super().__init__(daemon=True, name="good-traffic")
        self.service = service
        self.ledger = ledger
        self.stop_event = threading.Event()
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.i = 0
        self.undelivered = 0

    def take(self) -> tuple[Counter[str], list[float]]:
        out = self.statuses, self.latencies
        self.statuses, self.latencies = Counter(), []
        return out

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.i += 1
            d = make_delivery(event_id=f"good-{self.i}", payload={"id": 90_000 + self.i})
            deadline = time.monotonic() + 60
            delivered = False
            while not delivered and time.monotonic() < deadline:
                aid = self.ledger.attempt(d.body, True)
                t0 = time.perf_counter()
                try:
                    with httpx.Client(timeout=10) as client:
                        r = client.post(
                            self.service.webhook,
                            content=d.body,
                            headers={**d.headers, ATTEMPT: aid},
                        )
                    status = str(r.status_code)
                except httpx.HTTPError:
                    status = "error"
                self.statuses[status] += 1
                if status == "200":
                    self.latencies.append((time.perf_counter() - t0) * 1000)
                    self.ledger.acked.add(aid)
                    delivered = True
                else:
                    time.sleep(0.2)
            if not delivered:
                self.undelivered += 1
            time.sleep(0.02)


# ---- the kinds of abuse: each opens its sockets and returns a function that keeps them going
# (called every 0.5 s) and the sockets to watch.

Abuse = tuple[list[socket.socket], Callable[[], None]]


def idle(port: int, n: int = 1100) -> Abuse:
    socks = [s for s in (_connect(port) for _ in range(n)) if s is not None]
    return socks, lambda: None


def slow_headers(port: int, n: int = 100) -> Abuse:
    socks = [s for s in (_connect(port) for _ in range(n)) if s is not None]
    for s in socks:
        _send_quietly(s, b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\nX-Slow: ")

    def more() -> None:
        for s in socks:
            _send_quietly(s, b"a")

    return socks, more


def slow_body(port: int, n: int = 30) -> Abuse:
    d = make_delivery()
    head = b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\n"
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in d.headers.items())
    head += b"Content-Length: 1000000\r\n\r\n"
    socks = [s for s in (_connect(port) for _ in range(n)) if s is not None]
    for s in socks:
        _send_quietly(s, head)

    def more() -> None:
        for s in socks:
            _send_quietly(s, b"{" * 10)

    return socks, more


def huge_headers(port: int, n: int = 4, size: int = 64 << 20) -> Abuse:
    """Unsigned requests with a 64 MB header value, sent as fast as the service reads."""
    socks = [s for s in (_connect(port) for _ in range(n)) if s is not None]
    sent = dict.fromkeys(range(len(socks)), 0)
    chunk = b"h" * 65536
    for s in socks:
        _send_quietly(s, b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\nX-Huge: ")

    def more() -> None:
        for i, s in enumerate(socks):
            end = time.monotonic() + 0.05
            while sent[i] < size and time.monotonic() < end:
                try:
                    sent[i] += s.send(chunk)
                except BlockingIOError:
                    break
                except OSError:
                    sent[i] = size

    return socks, more


def bad_signature_flood(port: int, n: int = 8) -> Abuse:
    """Clients sending 1 MB bodies with a wrong signature, back to back (each answer read)."""
    body = b"{" + b"x" * (1024 * 1024 - 2) + b"}"
    d = make_delivery(body=body, secret="not-the-secret")
    head = b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\n"
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in d.headers.items())
    request = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    stop = threading.Event()
    answers: Counter[str] = Counter()

    def client() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(request)
                    answers[s.recv(12)[9:12].decode(errors="replace") or "closed"] += 1
            except OSError:
                answers["error"] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    FLOODS.append((stop, threads, answers))
    return [], lambda: None


FLOODS: list[tuple[threading.Event, list[threading.Thread], Counter[str]]] = []


def oversize(service: Service, answers: Counter[str]) -> None:
    """Declared and streamed bodies over the limit, and a signed delivery with an 8 MB
    header value (the fault probe found those stored): none may be 2xx."""

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"y" * 65536

    d = make_delivery()
    head = b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in d.headers.items())
    for _ in range(10):  # declared 100 MB, answered before any of it is read
        try:
            with socket.create_connection(("127.0.0.1", service.port), timeout=15) as s:
                s.sendall(head + b"Content-Length: %d\r\n\r\n" % (100 << 20) + b"x" * 10)
                answers[
                    f"declared-100MB:{s.recv(12)[9:12].decode(errors='replace') or 'closed'}"
                ] += 1
        except OSError:
            answers["declared-100MB:closed"] += 1
    signed = make_delivery(extra_headers={"X-Huge": "v" * (8 << 20)})
    tries: list[tuple[str, dict[str, str], bytes | Iterator[bytes]]] = [
        ("chunked-2.5MB", d.headers, chunks()),
        ("signed-8MB-header", signed.headers, signed.body),
    ]
    for name, headers, content in tries:
        try:
            with httpx.Client(timeout=30) as client:
                r = client.post(service.webhook, content=content, headers=headers)
            answers[f"{name}:{r.status_code}"] += 1
        except Exception:  # the client library or the connection gave up: not an acceptance
            answers[f"{name}:closed"] += 1


KINDS: dict[str, Callable[[int], Abuse]] = {
    "idle connections (1,100)": idle,
    "slow headers (100, a byte a second)": slow_headers,
    "slow bodies (30, 10 bytes a second)": slow_body,
    "64 MB headers (4)": huge_headers,
    "bad-signature flood (8 clients, 1 MB bodies)": bad_signature_flood,
}


def abuse(
    workdir: Path, kinds: list[list[str]], window_s: float = CLOSE_WITHIN_S + 2
) -> AbuseResult:
    """Run each group of kinds of abuse at once, one group after the other, with good traffic
    throughout; `window_s` bounds each group."""
    result = AbuseResult()
    data_dir = workdir / "data"
    ledger = Ledger()
    service = Service(data_dir, nofile=NOFILE)
    good = _Good(service, ledger)
    try:
        service.launch()
        good.start()
        time.sleep(2)
        result.baseline_rss_mb = service.rss_bytes() / 2**20
        result.baseline_fds = service.open_files()
        good.take()
        for group in kinds:
            result.kinds.append(_group(service, good, group, window_s, result.baseline_rss_mb))
        # Slow clients connected while the service stops: it must not wait on them for long.
        slow, _ = slow_headers(service.port, 20)
        good.stop_event.set()
        good.join(timeout=70)
        code, result.stop_s = service.stop(timeout=60)
        for s in slow:
            s.close()
        if code not in (0, -15):
            result.problems.append(f"graceful stop exited {code}")
    finally:
        good.stop_event.set()
        service.ensure_dead()
    log = service.all_logs()
    if "Traceback" in log:
        result.problems.append(f"the service logged {log.count('Traceback')} tracebacks")
    if result.stop_s > 10:
        result.problems.append(f"SIGTERM with 20 slow clients took {result.stop_s:.1f} s")
    if good.undelivered:
        result.problems.append(f"{good.undelivered} good deliveries never acknowledged")
    result.raw = check_raw(data_dir, ledger)
    result.problems += result.raw.problems()
    for k in result.kinds:
        if k.open_after_s:
            result.problems.append(
                f"{k.kind}: {k.open_after_s} of {k.opened} connections still open after "
                f"{CLOSE_WITHIN_S:.0f} s"
            )
        if k.rss_growth_mb * 2**20 > RSS_GROWTH_LIMIT:
            result.problems.append(f"{k.kind}: RSS grew by {k.rss_growth_mb:.0f} MB")
        if k.fds_peak >= NOFILE - 8:
            result.problems.append(f"{k.kind}: {k.fds_peak} open files, at the limit {NOFILE}")
        accepted = {a: n for a, n in k.answers.items() if a.split(":")[-1].startswith("2")}
        if accepted:
            result.problems.append(f"{k.kind}: abusive requests accepted: {accepted}")
        # A health check must get an answer (200, or 503 with a reason), not silence; one lost
        # in a crowd of 1,100 connections is tolerated, one in ten is not.
        if k.readyz.get("error", 0) * 10 > k.readyz.total():
            result.problems.append(
                f"{k.kind}: /readyz did not answer {k.readyz['error']} of {k.readyz.total()} times"
            )
    return result


def _group(
    service: Service, good: _Good, group: list[str], window_s: float, baseline_mb: float
) -> KindResult:
    kr = KindResult(" + ".join(group))
    started = time.monotonic()
    socks: list[socket.socket] = []
    keepers: list[Callable[[], None]] = []
    FLOODS.clear()
    for name in group:
        if name == "oversize bodies and headers":
            continue
        s, keep = KINDS[name](service.port)
        socks += s
        keepers.append(keep)
    kr.opened = len(socks)
    oversize_thread = None
    if "oversize bodies and headers" in group:
        oversize_thread = threading.Thread(target=oversize, args=(service, kr.answers), daemon=True)
        oversize_thread.start()
    open_socks = set(range(len(socks)))
    while time.monotonic() - started < window_s:
        for keep in keepers:
            keep()
        for i in list(open_socks):
            if _closed(socks[i], kr.answers):
                open_socks.discard(i)
        kr.rss_peak_mb = max(kr.rss_peak_mb, service.rss_bytes() / 2**20)
        kr.fds_peak = max(kr.fds_peak, service.open_files())
        kr.connections_peak = max(kr.connections_peak, service.connections())
        try:
            # a new connection each time, as a load balancer's health check makes
            kr.readyz[str(httpx.get(f"{service.url}/readyz", timeout=5).status_code)] += 1
        except httpx.HTTPError:
            kr.readyz["error"] += 1
        done_flooding = not FLOODS and (oversize_thread is None or not oversize_thread.is_alive())
        if not open_socks and done_flooding and time.monotonic() - started > 5:
            break
        time.sleep(0.5)
    kr.open_after_s = len(open_socks)
    for stop, threads, answers in FLOODS:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        kr.opened += sum(answers.values())
        kr.answers.update({f"flood:{a}": n for a, n in answers.items()})
    FLOODS.clear()
    if oversize_thread is not None:
        oversize_thread.join(timeout=60)
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.close()
    statuses, latencies = good.take()
    kr.good = statuses
    kr.good_p50_ms = percentile(latencies, 50)
    kr.good_p99_ms = percentile(latencies, 99)
    kr.rss_growth_mb = kr.rss_peak_mb - baseline_mb
    kr.seconds = time.monotonic() - started
    return kr


ALL = [*KINDS, "oversize bodies and headers"]
