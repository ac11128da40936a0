"""Builders shared by the tests: signed deliveries, log records, reading the raw store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from ingest import wal
from ingest.records import RawRecord
from ingest.signature import sign

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
    files = sorted((data_dir / "raw" / "violet").rglob("*.parquet"))
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
