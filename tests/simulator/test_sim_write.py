"""`write` seals exactly the stored deliveries, with the headers the service would record."""

from __future__ import annotations

import hashlib
from array import array
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from ingest.records import SCHEMA, header_fields
from simulator import send, stream, truth, write
from simulator.deliveries import Delivery
from simulator.options import Options
from warehouse_files import layout


def test_write_seals_every_stored_delivery(
    tmp_path: Path, small_options: Options, small_deliveries: list[Delivery], secret: str
) -> None:
    result = write.write_raw(
        small_options, tmp_path / "data", secret=secret, segment_records=1_000, workers=1
    )
    summary = truth.write_truth(small_options, tmp_path / "truth", workers=1)
    files = sorted(layout.raw_dir(tmp_path / "data").glob(layout.RAW_GLOB))
    assert all(layout.parse_file_name(f.name) for f in files)
    assert sorted(result.files) == files
    tables = [pq.read_table(f) for f in files]
    assert all(t.schema.equals(SCHEMA, check_metadata=False) for t in tables)
    rows = [r for t in tables for r in t.to_pylist()]
    assert len(rows) == result.records == summary["genuine_stored_deliveries"]
    assert result.segments == -(-len(rows) // 1_000)
    rows.sort(key=lambda r: r["sequence"])
    assert [r["sequence"] for r in rows] == list(range(1, len(rows) + 1))
    received = [r["received_at"] for r in rows]
    assert received == sorted(received)
    for r in rows:
        assert r["ingest_instance"] == f"simulator-{small_options.seed}"
        assert r["secret_id"] == write.DEFAULT_SECRET_ID
        assert layout.partition_name(f"{r['received_at']:%Y-%m-%d}") in {
            f.parent.name for f in files
        }
    stored = [d for d in small_deliveries if d.stored]
    assert [r["body"] for r in rows] == [d.body for d in stored]


def test_recorded_headers_are_what_the_service_sees_from_send(
    tmp_path: Path, small_options: Options, small_deliveries: list[Delivery], secret: str
) -> None:
    seen: dict[tuple[str | None, ...], httpx.Headers] = {}

    def service(request: httpx.Request) -> httpx.Response:
        h = request.headers
        key = (h.get("x-violet-event-id"), h.get("x-violet-topic"), h.get("x-violet-hmac"))
        seen[(*key, hashlib.sha256(request.content).hexdigest())] = h
        return httpx.Response(200)

    sample = [d for d in small_deliveries if d.stored][:400]
    send.send_stream(sample, "http://127.0.0.1:9/hook", transport=httpx.MockTransport(service))
    write.write_raw(small_options, tmp_path, secret=secret, workers=1)
    rows = pq.read_table(write.raw_dir_of(tmp_path)).to_pylist()
    checked = 0
    for r in rows:
        hmac = r["headers"].split('"x-violet-hmac":"')[1].split('"')[0]
        headers = seen.get((r["delivery_id"], r["topic"], hmac, r["body_sha256"]))
        if headers is None:
            continue
        # As an ASGI server passes them on: lower-case names, bytes, in arrival order.
        raw = [(name.lower(), value) for name, value in headers.raw]
        fields = header_fields(raw)
        assert fields.headers_json == r["headers"]
        assert (fields.delivery_id, fields.topic, fields.order_id, fields.bag_id) == (
            r["delivery_id"],
            r["topic"],
            r["order_id"],
            r["bag_id"],
        )
        assert fields.webhook_id == r["webhook_id"]
        assert fields.source_event_id == r["source_event_id"]
        checked += 1
    assert checked >= 390  # retries share a key with their first delivery


def test_segments_cut_at_receive_times_and_keep_ties_together() -> None:
    spills = [
        stream.Spill("a", [], array("q", [1, 2, 2, 2, 5, 9])),
        stream.Spill("b", [], array("q", [2, 3, 4, 9, 9])),
    ]
    # merged: 1 | 2 2 2 2 3 | 4 5 | 9 9 9: a cut every 3 records, moved back to the start of
    # the run of equal receive times it falls in; (lo, hi, sequence of the first record)
    assert write._plan_segments(spills, 3) == [(None, 2, 1), (2, 4, 2), (4, 9, 7), (9, None, 9)]
    assert write._plan_segments(spills, 100) == [(None, None, 1)]
    assert write._plan_segments([stream.Spill("c", [], array("q"))], 3) == []
