"""End to end: the real `python -m ingest serve` under uvicorn on 127.0.0.1, real signed HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.support import SECRET, Delivery, Server, free_port, make_delivery, read_raw
from warehouse_files import layout

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def unique_delivery(i: int) -> Delivery:
    payload = {"id": 50_000 + i, "status": "ACCEPTED", "total": i, "pad": os.urandom(64).hex()}
    return make_delivery("ORDER_UPDATED", payload, event_id=f"e2e-{i}")


class PartialFileWatcher(threading.Thread):
    """Opens every Parquet file the moment it appears; any unreadable one is a failure."""

    def __init__(self, raw_dir: Path) -> None:
        super().__init__(daemon=True)
        self.raw_dir = raw_dir
        self.stop_event = threading.Event()
        self.checked: set[Path] = set()
        self.bad: list[str] = []

    def run(self) -> None:
        while not self.stop_event.is_set():
            for path in self.raw_dir.rglob("*.parquet") if self.raw_dir.exists() else []:
                if path in self.checked:
                    continue
                try:
                    pq.read_metadata(path)
                except FileNotFoundError:
                    continue  # replaced by a re-seal between listing and opening
                except Exception as exc:
                    self.bad.append(f"{path}: {exc!r}")
                self.checked.add(path)
            time.sleep(0.01)


async def send_until_killed(
    url: str, kill_after: int, kill: Callable[[], None], total: int, keepalive: bool = True
) -> tuple[dict[str, bytes], int]:
    """Send `total` deliveries 32 at a time; SIGKILL the server once `kill_after` are acked.
    Returns the acknowledged deliveries (event id -> body) and how many were in flight."""
    acked: dict[str, bytes] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    killed = asyncio.Event()
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            d = unique_delivery(queue.get_nowait())
            try:
                r = await client.post(f"{url}/webhooks/violet", content=d.body, headers=d.headers)
            except httpx.HTTPError:
                failures += 1
                continue
            if r.status_code == 200:
                acked[d.event_id] = d.body
                if len(acked) >= kill_after and not killed.is_set():
                    killed.set()
                    kill()
            else:
                failures += 1

    limits = httpx.Limits(max_keepalive_connections=None if keepalive else 0)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(32)))
    return acked, failures


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_mid_stream_loses_no_acknowledged_delivery(
    server: Callable[..., Server], data_dir: Path, workers: int
) -> None:
    env = {"VIOLET_SEAL_MAX_RECORDS": "50", "VIOLET_SEAL_INTERVAL_SECONDS": "0.5"}
    first = server(workers=workers, env=env)
    watcher = PartialFileWatcher(layout.raw_dir(data_dir))
    watcher.start()
    acked, failed = asyncio.run(send_until_killed(first.url, 600, first.kill9, total=1500))
    assert len(acked) >= 600
    assert failed > 0, "the kill should have cut some requests off"

    second = server(workers=workers, env=env)
    second.stop()
    watcher.stop_event.set()
    watcher.join()

    assert watcher.bad == []
    assert watcher.checked
    table = read_raw(data_dir)
    stored = dict(
        zip(table.column("delivery_id").to_pylist(), table.column("body").to_pylist(), strict=True)
    )
    missing = sorted(set(acked) - set(stored))
    assert missing == [], f"{len(missing)} acknowledged deliveries lost"
    assert all(stored[k] == body for k, body in acked.items()), "a stored body differs"
    # Nothing unacknowledged was invented: every stored row is one we sent.
    assert all(k.startswith("e2e-") for k in stored)
    assert table.num_rows == len(set(stored)), "a delivery was sealed twice"
    assert not list((layout.wal_dir(data_dir)).rglob("*.wal"))
    assert not list((data_dir / "raw").rglob("*.tmp"))
    assert '"event": "log_recovered"' in second.log() or table.num_rows == len(acked)


def test_graceful_stop_seals_everything_and_metrics_sum_over_workers(
    server: Callable[..., Server], data_dir: Path
) -> None:
    srv = server(workers=2)
    sent = [unique_delivery(i) for i in range(40)]
    with httpx.Client(timeout=10) as client:
        for d in sent:
            r = client.post(f"{srv.url}/webhooks/violet", content=d.body, headers=d.headers)
            assert r.status_code == 200
        bad = make_delivery(secret="wrong")
        assert client.post(f"{srv.url}/webhooks/violet", content=bad.body, headers=bad.headers)
        for _ in range(4):  # whichever worker answers, the totals are the service's
            text = client.get(f"{srv.url}/metrics").text
            assert "violet_ingest_deliveries_accepted_total 40.0" in text
            assert 'violet_ingest_deliveries_rejected_total{reason="bad_signature"} 1.0' in text
    srv.stop()
    table = read_raw(data_dir)
    assert sorted(table.column("delivery_id").to_pylist()) == sorted(d.event_id for d in sent)
    assert len(set(table.column("ingest_instance").to_pylist())) in (1, 2)
    assert not list((layout.wal_dir(data_dir)).rglob("*.wal"))
    assert '"event": "sealed"' in srv.log()
    assert SECRET not in srv.log()


def test_header_bytes_that_are_not_utf8_over_a_raw_socket(
    server: Callable[..., Server], data_dir: Path
) -> None:
    srv = server()
    d = make_delivery()
    head = b"POST /webhooks/violet HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for name, value in d.headers.items():
        if name != "X-Violet-Event-Id":
            head += f"{name}: {value}\r\n".encode()
    head += b"X-Violet-Event-Id: evt-\xff\xfe\r\nX-Odd: caf\xe9\r\n"
    head += f"Content-Length: {len(d.body)}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(head + d.body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    srv.stop()
    [row] = read_raw(data_dir).to_pylist()
    assert row["delivery_id"] == "evt-\\xff\\xfe"
    assert row["body"] == d.body


def test_a_write_failure_is_a_503_never_a_2xx(
    server: Callable[..., Server], data_dir: Path
) -> None:
    # The log may not grow past 64 KiB: the batch that crosses it fails (EFBIG) like a full disk.
    srv = server(limit_file_size=64 * 1024, env={"VIOLET_SEAL_MAX_BYTES": "1000000000"})
    acked: dict[str, bytes] = {}
    statuses: list[int] = []
    with httpx.Client(timeout=10) as client:
        for i in range(200):
            d = unique_delivery(i)
            r = client.post(f"{srv.url}/webhooks/violet", content=d.body, headers=d.headers)
            statuses.append(r.status_code)
            if r.status_code == 200:
                acked[d.event_id] = d.body
            else:
                assert r.status_code == 503
                assert r.headers["retry-after"] == "30"
                # A reason, and no OS error text or path in the answer (those are in the log).
                assert r.json()["cause"] == "file_size_limit"
                assert "errno" not in r.text.lower()
                assert str(data_dir) not in r.text
    assert 503 in statuses
    assert statuses.count(200) >= 100, "after a failed batch the log moves to a new segment"
    srv.stop()
    table = read_raw(data_dir)
    stored = dict(
        zip(table.column("delivery_id").to_pylist(), table.column("body").to_pylist(), strict=True)
    )
    assert all(stored.get(k) == body for k, body in acked.items())
    assert '"event": "log_write_failed"' in srv.log()


def test_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIOLET_APP_SECRET")}
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env={**env, "VIOLET_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "VIOLET_APP_SECRET" in done.stderr


def test_a_killed_worker_is_replaced_and_its_log_sealed(
    server: Callable[..., Server], data_dir: Path
) -> None:
    srv = server(workers=2, env={"VIOLET_SEAL_MAX_RECORDS": "1000000"})
    deadline = time.monotonic() + 30
    while len(workers := re.findall(r"Application startup complete", srv.log())) < 2:
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.1)
    workers = [int(p) for p in re.findall(r"Started server process \[(\d+)\]", srv.log())]
    assert len(workers) == 2

    def kill_one() -> None:
        os.kill(workers[0], signal.SIGKILL)

    # Fresh connections, 32 at a time, so that both workers accept deliveries.
    acked, _ = asyncio.run(send_until_killed(srv.url, 300, kill_one, total=900, keepalive=False))
    # uvicorn's supervisor starts a replacement worker, which takes the dead one's slot and
    # seals what the dead worker acknowledged.
    deadline = time.monotonic() + 30
    while not re.search(r'"log_recovered", "segment": "[^"]+", "records": [1-9]', srv.log()):
        assert time.monotonic() < deadline, srv.log()[-3000:]
        time.sleep(0.2)
    srv.stop()
    table = read_raw(data_dir)
    stored = dict(
        zip(table.column("delivery_id").to_pylist(), table.column("body").to_pylist(), strict=True)
    )
    assert len(acked) >= 800
    assert all(stored.get(k) == body for k, body in acked.items())
