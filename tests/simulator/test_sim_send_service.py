"""`send` against the real ingest service stores exactly what `write` writes for the same world."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulator import send, stream
from simulator.options import Options
from simulator.write import write_raw
from tests.support import SECRET, Server, read_raw

pytestmark = pytest.mark.e2e

KEY = ["delivery_id", "source_event_id", "topic", "order_id", "bag_id", "body_sha256"]


def test_send_to_the_service_matches_write(
    server: Callable[..., Server],
    data_dir: Path,
    tmp_path: Path,
) -> None:
    options = Options(seed=3, orders=60)
    srv = server(workers=2)
    with stream.generate(options, secret=SECRET, form="send", workers=1) as world:
        summary = send.send_stream(
            world.deliveries(), f"{srv.url}/webhooks/violet", total=world.counts.deliveries
        )
    assert summary.ok, summary.as_dict()
    assert summary.expected_401 > 0 or options.stream.bad_signature * summary.sent < 5
    srv.stop()
    written = tmp_path / "written"
    write_raw(options, written, secret=SECRET, workers=1)

    def rows(root: Path) -> list[tuple[object, ...]]:
        table = read_raw(root).select(KEY)
        return sorted((tuple(r[k] for k in KEY) for r in table.to_pylist()), key=lambda t: repr(t))

    served = rows(data_dir)
    assert len(served) == summary.acknowledged
    assert served == rows(written)
