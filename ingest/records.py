"""The raw delivery record: what is kept of every accepted delivery (design.md).

One row per accepted delivery. Columns are only ever added at the end; readers use
`union_by_name`. `body` holds the exact bytes received.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import pyarrow as pa

SCHEMA = pa.schema(
    [
        pa.field("delivery_id", pa.string()),
        pa.field("source_event_id", pa.string()),
        pa.field("topic", pa.string()),
        pa.field("webhook_id", pa.string()),
        pa.field("order_id", pa.string()),
        pa.field("bag_id", pa.string()),
        pa.field("headers", pa.string()),
        pa.field("body", pa.binary(), nullable=False),
        pa.field("body_sha256", pa.string(), nullable=False),
        pa.field("secret_id", pa.string(), nullable=False),
        pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("ingest_instance", pa.string(), nullable=False),
        pa.field("sequence", pa.int64(), nullable=False),
    ],
    metadata={b"violet_warehouse.record": b"raw_delivery/1"},
)

# Headers that say something about the transport, not the delivery: never kept.
_TRANSPORT_HEADERS = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-connection",
        "accept-encoding",
    }
)
# Headers whose values are credentials: kept as a name with a redacted value.
DEFAULT_REDACTED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
)
REDACTED = "[redacted]"


class RawRecord(NamedTuple):
    """One accepted delivery before sealing. `body_sha256` and the instance are added at seal."""

    delivery_id: str | None
    source_event_id: str | None
    topic: str | None
    webhook_id: str | None
    order_id: str | None
    bag_id: str | None
    headers: str
    body: bytes
    secret_id: str
    received_at_us: int
    sequence: int


class HeaderFields(NamedTuple):
    delivery_id: str | None
    source_event_id: str | None
    topic: str | None
    webhook_id: str | None
    order_id: str | None
    bag_id: str | None
    headers_json: str


_ID_HEADERS = {
    b"x-violet-event-id": 0,
    b"x-violet-event-id-source": 1,
    b"x-violet-topic": 2,
    b"x-violet-webhook-id": 3,
    b"x-violet-order-id": 4,
    b"x-violet-bag-id": 5,
}
_SKIP = frozenset(name.encode() for name in _TRANSPORT_HEADERS)
_DEFAULT_REDACTED_RAW = frozenset(name.encode() for name in DEFAULT_REDACTED_HEADERS)
_REDACTED_RAW = REDACTED.encode()
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        # Header bytes that are not UTF-8 stay visible (\xNN) instead of failing the delivery.
        return raw.decode("utf-8", "backslashreplace")


def header_blob(
    raw_headers: Iterable[tuple[bytes, bytes]], redacted: frozenset[bytes] = _DEFAULT_REDACTED_RAW
) -> bytes:
    """The request's headers as kept in the log: transport headers dropped, credentials
    redacted, as NUL-separated name/value bytes. Runs once per request, so it does no decoding;
    `header_fields` turns it into columns when the log is sealed."""
    parts: list[bytes] = []
    for name, value in raw_headers:
        if name in _SKIP:
            continue
        if name in redacted:
            value = _REDACTED_RAW
        elif b"\0" in value:  # HTTP forbids NUL in a value; never let one split a pair
            value = value.replace(b"\0", b"\\x00")
        parts.append(name)
        parts.append(value)
    return b"\0".join(parts)


def header_pairs(blob: bytes) -> list[tuple[bytes, bytes]]:
    if not blob:
        return []
    items = blob.split(b"\0")
    return list(zip(items[::2], items[1::2], strict=True))


def header_fields(
    raw_headers: Iterable[tuple[bytes, bytes]],
    redacted: frozenset[bytes] = _DEFAULT_REDACTED_RAW,
) -> HeaderFields:
    """Pick the typed columns out of ASGI headers and render the rest as a JSON object.

    ASGI servers hand header names over in lower case; repeated headers are joined with ", "
    as HTTP allows. Empty id headers count as absent.
    """
    kept: dict[str, str] = {}
    ids: list[str | None] = [None] * 6
    for raw_name, raw_value in raw_headers:
        if raw_name in _SKIP:
            continue
        name = _text(raw_name).lower()
        value = REDACTED if raw_name.lower() in redacted else _text(raw_value)
        slot = _ID_HEADERS.get(raw_name)
        if slot is not None and value and ids[slot] is None:
            ids[slot] = value
        kept[name] = f"{kept[name]}, {value}" if name in kept else value
    return HeaderFields(ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], _encode_json(kept))


class Columns:
    """Accepted records held column by column until they are sealed.

    A segment holds up to ~100k deliveries in memory; as one list per column (of str/bytes,
    which the garbage collector does not track) they cost the collector nothing, where as many
    tuples they made every full collection walk them all.
    """

    __slots__ = ("lists",)

    def __init__(self) -> None:
        self.lists: list[list[Any]] = [[] for _ in RawRecord._fields]

    def __len__(self) -> int:
        return len(self.lists[0])

    def extend(self, records: Iterable[RawRecord]) -> None:
        for column, values in zip(self.lists, zip(*records, strict=True), strict=True):
            column.extend(values)

    @classmethod
    def of(cls, records: Iterable[RawRecord]) -> Columns:
        cols = cls()
        cols.extend(records)
        return cols

    def take(self, indices: Sequence[int]) -> Columns:
        out = Columns()
        out.lists = [[col[i] for i in indices] for col in self.lists]
        return out

    def received_at_us(self) -> list[int]:
        return self.lists[_RECEIVED_AT]

    def records(self) -> list[RawRecord]:
        return [RawRecord(*row) for row in zip(*self.lists, strict=True)]


_RECEIVED_AT = RawRecord._fields.index("received_at_us")


def to_table(columns: Columns, instance: str) -> pa.Table:
    """Columnar form of the records, in their order, with the derived columns filled in."""
    (
        delivery_id,
        source_event_id,
        topic,
        webhook_id,
        order_id,
        bag_id,
        headers,
        bodies,
        secret_id,
        received_at_us,
        sequence,
    ) = columns.lists
    n = len(bodies)
    arrays = [
        pa.array(delivery_id, pa.string()),
        pa.array(source_event_id, pa.string()),
        pa.array(topic, pa.string()),
        pa.array(webhook_id, pa.string()),
        pa.array(order_id, pa.string()),
        pa.array(bag_id, pa.string()),
        pa.array(headers, pa.string()),
        pa.array(bodies, pa.binary()),
        pa.array([hashlib.sha256(b).hexdigest() for b in bodies], pa.string()),
        pa.array(secret_id, pa.string()),
        pa.array(received_at_us, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        pa.array([instance] * n, pa.string()),
        pa.array(sequence, pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)
