"""Builders shared by the tests: signed deliveries, log records, reading the raw store, and
the real ingest server started as a subprocess."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from ingest import wal
from ingest.probe import NotReady, wait_ready
from ingest.records import RawRecord
from ingest.signature import sign
from warehouse_files import layout

SECRET = "test-app-secret-7f3c"
OLD_SECRET = "test-old-secret-1a2b"


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def event_id(self) -> str:
        return self.headers["X-Violet-Event-Id"]


DeliveryFactory = Callable[..., Delivery]


def make_delivery(
    topic: str = "ORDER_UPDATED",
    payload: object | None = None,
    *,
    body: bytes | None = None,
    secret: str = SECRET,
    event_id: str | None = None,
    extra_headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> Delivery:
    """A signed delivery as Violet sends it; change one thing per test with the arguments."""
    if body is None:
        if payload is None:
            payload = {
                "id": 1001,
                "status": "ACCEPTED",
                "total": 4200,
                "currency": "USD",
                "date_last_modified": "2026-11-27T16:21:52+0000",
            }
        body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "X-Violet-Hmac": sign(secret, body),
        "X-Violet-Topic": topic,
        "X-Violet-Event-Id": event_id or f"evt-{uuid.uuid4()}",
        "X-Violet-Webhook-Id": "wh-42",
        "X-Violet-Entity-Length": str(len(body)),
        "X-Violet-Order-Id": "1001",
        "X-Violet-Bag-Id": "2002",
        "Content-Type": "application/json",
    }
    headers.update(extra_headers or {})
    for name in drop:
        headers.pop(name, None)
    return Delivery(body, headers)


def read_raw(data_dir: Path) -> pa.Table:
    """Every sealed raw delivery under `data_dir`, as one table (empty if none)."""
    files = sorted(layout.raw_dir(data_dir).rglob("*.parquet"))
    if not files:
        from ingest.records import SCHEMA

        return SCHEMA.empty_table()
    return ds.dataset([str(f) for f in files], format="parquet").to_table()


def rec(i: int, body: bytes | None = None, **kw: object) -> RawRecord:
    base = RawRecord(
        delivery_id=f"evt-{i}",
        source_event_id=None,
        topic="ORDER_UPDATED",
        webhook_id="wh-1",
        order_id="10",
        bag_id=None,
        headers='{"x-violet-topic":"ORDER_UPDATED"}',
        body=body if body is not None else b'{"id": %d, "note": "caf\xc3\xa9"}' % i,
        secret_id="primary",
        received_at_us=1_795_000_000_000_000 + i,
        sequence=i,
    )
    return base._replace(**kw)  # type: ignore[arg-type]


def logrec(i: int, body: bytes | None = None, **kw: object) -> wal.LogRecord:
    base = wal.LogRecord(
        received_at_us=1_795_000_000_000_000 + i,
        sequence=i,
        secret_id="primary",
        headers=b"x-violet-topic\0ORDER_UPDATED\0x-violet-event-id\0evt-%d" % i,
        body=body if body is not None else b'{"id": %d, "note": "caf\xc3\xa9"}' % i,
    )
    return base._replace(**kw)  # type: ignore[arg-type]


ROOT = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-m", "ingest", "serve"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    limit_file_size: int | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VIOLET_")},
            "VIOLET_APP_SECRET": SECRET,
            "VIOLET_DATA_DIR": str(self.data_dir),
            "VIOLET_MIN_FREE_BYTES": "0",
            **self.env,
        }
        limit = self.limit_file_size

        def preexec() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        self.log_path = self.data_dir.parent / f"server-{self.port}-{time.monotonic_ns()}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*SERVE, "--port", str(self.port), "--workers", str(self.workers)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )
        try:
            wait_ready(f"{self.url}/readyz", self.proc)
        except NotReady as exc:
            raise AssertionError(f"server not ready ({exc}):\n{self.log()}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM the server's process group; it must shut down gracefully and completely."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        # uvicorn re-raises the signal it handled once shutdown is complete.
        assert code in (0, -signal.SIGTERM), f"exit {code}:\n{self.log()}"
        assert "Application shutdown complete" in self.log()
        # Workers and the sealing process must all be gone with it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError("processes of the server's group outlived it")


# ---- raw HTTP over a socket, for the tests of what the server does with abusive clients --------


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def signed_head(d: Delivery, *, content_length: int | None = None, extra: bytes = b"") -> bytes:
    """The request line and headers of `d` as raw bytes (no body), `extra` header lines added."""
    head = b"POST /webhooks/violet HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for name, value in d.headers.items():
        head += f"{name}: {value}\r\n".encode()
    length = len(d.body) if content_length is None else content_length
    return head + extra + b"Content-Length: %d\r\n\r\n" % length


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        parsed = json.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed


def read_answer(sock: socket.socket, timeout: float = 10.0) -> Answer | None:
    """One HTTP/1.1 answer read from `sock`, or None if the server closed (or reset) the
    connection without answering."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except ConnectionResetError:
        if not data:
            return None
        raise
    return Answer(int(lines[0].split()[1]), headers, body)


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True if the server closes `sock` (with or without an answer) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.05)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False
