"""Bounds on what unauthenticated clients can make the real server do: head size, slow clients,
connections, buffered bodies, and a stop that does not wait for them. Real `python -m ingest
serve` on 127.0.0.1, raw sockets where a well-behaved client would not do it."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ingest.limits import LAST_CHANCE
from tests.support import (
    Server,
    closed_by_peer,
    make_delivery,
    read_answer,
    read_raw,
    rss_bytes,
    signed_head,
)

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


@contextlib.contextmanager
def sockets(port: int, n: int) -> Iterator[list[socket.socket]]:
    opened = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    try:
        yield opened
    finally:
        for s in opened:
            s.close()


def post_ok(srv: Server) -> None:
    d = make_delivery()
    r = httpx.post(f"{srv.url}/webhooks/violet", content=d.body, headers=d.headers, timeout=10)
    assert r.status_code == 200, r.text


def rejected(srv: Server, reason: str) -> float:
    text = httpx.get(f"{srv.url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(f'violet_ingest_deliveries_rejected_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_an_oversize_request_head_gets_431_and_is_not_stored(
    server: Callable[..., Server], data_dir: Path
) -> None:
    srv = server(env={"VIOLET_MAX_HEADER_BYTES": "8192"})
    assert srv.proc is not None
    # A signed delivery whose one header is larger than the limit.
    d = make_delivery(extra_headers={"X-Big": "a" * 10_000})
    r = httpx.post(f"{srv.url}/webhooks/violet", content=d.body, headers=d.headers, timeout=10)
    assert r.status_code == 431
    assert r.json()["error"] == "headers_too_large"
    assert "8192" in r.json()["message"]
    # Many small headers that add up to more than the limit.
    many = make_delivery(extra_headers={f"X-H{i}": "v" * 60 for i in range(200)})
    r = httpx.post(f"{srv.url}/webhooks/violet", content=many.body, headers=many.headers)
    assert r.status_code == 431
    # One header value streamed without end: refused once past the limit, never buffered whole.
    before = rss_bytes(srv.proc.pid)
    sent = 0
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        chunk = b"a" * 65536
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < 64 * MiB:
                sock.sendall(chunk)
                sent += len(chunk)
    assert sent < 32 * MiB, "the server read a 64 MiB header to its end"
    assert rss_bytes(srv.proc.pid) - before < 32 * MiB
    assert rejected(srv, "headers_too_large") == 3
    post_ok(srv)
    srv.stop()
    assert read_raw(data_dir).num_rows == 1


def test_slow_and_idle_clients_are_cut_off(server: Callable[..., Server]) -> None:
    srv = server(env={"VIOLET_HEADER_TIMEOUT_SECONDS": "1", "VIOLET_BODY_TIMEOUT_SECONDS": "1"})
    d = make_delivery(secret="not-the-secret")
    with sockets(srv.port, 90) as socks:
        slow_head, slow_body = socks[30:60], socks[60:]  # and 30 that send nothing
        for s in slow_head:
            s.sendall(b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\n")
        for s in slow_body:
            s.sendall(signed_head(d) + d.body[:10])
        # Keep trickling: a deadline for the whole head, not a timeout between reads.
        started = time.monotonic()
        open_heads = list(slow_head)
        while open_heads and time.monotonic() - started < 4:
            for s in list(open_heads):
                try:
                    s.sendall(b"X-Trickle: 1\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    open_heads.remove(s)
            time.sleep(0.2)
        still_open = [s for s in socks if not closed_by_peer(s, 4 - (time.monotonic() - started))]
        assert still_open == [], f"{len(still_open)} of {len(socks)} slow connections still open"
    with sockets(srv.port, 1) as (head,):
        head.sendall(b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\n")
        answer = read_answer(head)
        assert answer is not None
        assert (answer.status, answer.json()["error"]) == (408, "header_timeout")
    with sockets(srv.port, 1) as (body,):
        body.sendall(signed_head(d) + d.body[:10])
        answer = read_answer(body)
        assert answer is not None
        assert (answer.status, answer.json()["error"]) == (408, "body_timeout")
    post_ok(srv)


def test_connections_past_the_cap_get_503_then_are_refused(server: Callable[..., Server]) -> None:
    srv = server(env={"VIOLET_MAX_CONNECTIONS": "20", "VIOLET_HEADER_TIMEOUT_SECONDS": "30"})
    d = make_delivery()
    with sockets(srv.port, 20):
        with sockets(srv.port, 1) as (over,):
            over.sendall(signed_head(d) + d.body)
            answer = read_answer(over)
            assert answer is not None, "no answer past the cap"
            assert answer.status == 503
            assert answer.json()["error"] == "too_many_connections"
            assert int(answer.headers["retry-after"]) > 0
        # Past twice the cap a connection has a last chance: a request there at once (a health
        # check) is answered 503; an idle one is closed within a moment, unanswered.
        with sockets(srv.port, 20), sockets(srv.port, 1) as (probe,):
            probe.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_answer(probe)
            assert answer is not None, "a health check past twice the cap got no answer"
            assert answer.status == 503
            assert answer.json()["error"] == "too_many_connections"
            assert int(answer.headers["retry-after"]) > 0
            with sockets(srv.port, 1) as (refused,):
                started = time.monotonic()
                assert read_answer(refused, 2) is None
                assert time.monotonic() - started < 1.5
        # The last chances are bounded (file descriptors): past them, closed at once.
        with sockets(srv.port, 40), sockets(srv.port, LAST_CHANCE), sockets(srv.port, 1) as (x,):
            started = time.monotonic()
            assert read_answer(x, 0.5) is None
            assert time.monotonic() - started < 0.5
    deadline = time.monotonic() + 5
    while True:  # the closed connections are gone once the server has seen them go
        try:
            post_ok(srv)
            break
        except AssertionError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert rejected(srv, "too_many_connections") >= 1


def test_bodies_before_the_signature_check_are_bounded_in_memory(
    server: Callable[..., Server], data_dir: Path
) -> None:
    srv = server(
        env={"VIOLET_MAX_PENDING_BODY_BYTES": str(4 * MiB), "VIOLET_BODY_TIMEOUT_SECONDS": "30"}
    )
    assert srv.proc is not None
    forged = make_delivery(secret="not-the-secret")
    part = b"x" * (900 * 1024)
    head = signed_head(forged, content_length=1_000_000)
    with sockets(srv.port, 5) as socks:
        for s in socks[:4]:  # 4 x 1,000,000 declared bytes fit in 4 MiB ...
            s.sendall(head + part)
        socks[4].sendall(head)  # ... a fifth does not: answered before its body is read
        answer = read_answer(socks[4])
        assert answer is not None
        assert (answer.status, answer.json()["error"]) == (503, "overloaded")
        assert int(answer.headers["retry-after"]) > 0
    before = rss_bytes(srv.proc.pid)
    with sockets(srv.port, 100) as socks:
        for s in socks:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                s.sendall(head + part)
        time.sleep(0.5)
        grown = rss_bytes(srv.proc.pid) - before
    assert grown < 48 * MiB, f"the server grew by {grown / MiB:.0f} MiB for 100 unsigned bodies"
    assert rejected(srv, "overloaded") >= 90
    post_ok(srv)
    srv.stop()
    assert read_raw(data_dir).num_rows == 1


def test_sigterm_does_not_wait_for_slow_clients(
    server: Callable[..., Server], data_dir: Path
) -> None:
    srv = server()  # default timeouts: the slow clients would outlive any short stop
    assert srv.proc is not None
    sent = [make_delivery() for _ in range(20)]
    with httpx.Client(timeout=10) as client:
        for d in sent:
            r = client.post(f"{srv.url}/webhooks/violet", content=d.body, headers=d.headers)
            assert r.status_code == 200
    d = make_delivery()
    with sockets(srv.port, 30) as socks:
        for s in socks[:10]:
            s.sendall(b"POST /webhooks/violet HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for s in socks[10:20]:
            s.sendall(signed_head(d) + d.body[:10])
        time.sleep(0.3)
        started = time.monotonic()
        srv.stop()
        took = time.monotonic() - started
    assert took < 5, f"the stop took {took:.1f} s"
    log = srv.log()
    assert "Traceback" not in log
    assert '"exc":' not in log
    stored = read_raw(data_dir).column("delivery_id").to_pylist()
    assert sorted(stored) == sorted(x.event_id for x in sent)
