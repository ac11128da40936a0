"""kill -9 of the sealing process at the dangerous moments of a seal, through the real server.

The sealer's test-only hook (VIOLET_TEST_SEAL_HOOK, see ingest.sealer) stops or kills the
process that seals a segment the first time it reaches a named point; the test then kills what
is left and restarts. Every acknowledged delivery must be in Parquet, byte for byte, exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support import Delivery, Server, make_delivery, read_raw
from warehouse_files import layout

pytestmark = pytest.mark.e2e

# Bodies of ~64 KiB: 100 of them fill a 5 MiB segment, which is more than one 4 MiB step of
# the sealer's release, so that there is a moment in the middle of releasing it.
SEGMENT_BYTES = 5 * 1024 * 1024
POINTS = ["parquet_written", "released", "shrinking"]
# What the next seal of that segment finds: its Parquet file in place (the log intact), or the
# segment already renamed away (only its deletion left to finish).
AFTER_RESTART = {
    "parquet_written": '"event": "seal_found_existing_file"',
    "released": '"event": "log_release_finished"',
    "shrinking": '"event": "log_release_finished"',
}
AFTER_RETRY = {
    "parquet_written": '"event": "seal_found_existing_file"',
    "released": '"event": "seal_already_released"',
    "shrinking": '"event": "seal_already_released"',
}


def big_delivery(i: int) -> Delivery:
    payload = {"id": 70_000 + i, "status": "ACCEPTED", "pad": os.urandom(32 * 1024).hex()}
    return make_delivery("ORDER_UPDATED", payload, event_id=f"crash-{i}")


def send(url: str, deliveries: list[Delivery]) -> dict[str, bytes]:
    acked: dict[str, bytes] = {}
    with httpx.Client(timeout=10) as client:
        for d in deliveries:
            r = client.post(f"{url}/webhooks/violet", content=d.body, headers=d.headers)
            assert r.status_code == 200, r.text
            acked[d.event_id] = d.body
    return acked


def wait_for_marker(marker: Path, srv: Server, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and (text := marker.read_text()):
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"the sealer never reached the hook point:\n{srv.log()[-3000:]}")


def assert_all_stored_once(data_dir: Path, acked: dict[str, bytes]) -> None:
    table = read_raw(data_dir)
    ids = table.column("delivery_id").to_pylist()
    stored = dict(zip(ids, table.column("body").to_pylist(), strict=True))
    missing = sorted(set(acked) - set(stored))
    assert missing == [], f"{len(missing)} of {len(acked)} acknowledged deliveries lost"
    assert all(stored[k] == body for k, body in acked.items()), "a stored body differs"
    twice = [k for k, n in Counter(ids).items() if n > 1]
    assert twice == [], f"{len(twice)} deliveries stored more than once"
    assert set(stored) == set(acked), "a delivery nobody sent was stored"
    left = sorted(
        p.name for p in layout.wal_dir(data_dir).rglob("*") if p.name.endswith((".wal", ".sealed"))
    )
    assert left == [], f"log files left behind: {left}"


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_of_the_service_while_sealing_loses_nothing(
    server: Callable[..., Server], data_dir: Path, tmp_path: Path, point: str
) -> None:
    marker = tmp_path / "hook-fired"
    env = {
        "VIOLET_SEAL_MAX_BYTES": str(SEGMENT_BYTES),
        "VIOLET_TEST_SEAL_HOOK": f"{point}:pause:{marker}",
    }
    first = server(env=env)
    acked = send(first.url, [big_delivery(i) for i in range(100)])
    wait_for_marker(marker, first)
    first.kill9()  # the service and the paused sealing process with it

    second = server(env=env)  # the marker exists: the hook does not fire again
    acked |= send(second.url, [big_delivery(i) for i in range(100, 110)])
    second.stop()
    assert '"event": "log_recovered"' in second.log()
    assert AFTER_RESTART[point] in second.log()
    assert '"outcome": "kept"' not in second.log()
    assert_all_stored_once(data_dir, acked)


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_of_the_sealing_process_alone_loses_nothing(
    server: Callable[..., Server], data_dir: Path, tmp_path: Path, point: str
) -> None:
    marker = tmp_path / "hook-fired"
    env = {
        "VIOLET_SEAL_MAX_BYTES": str(SEGMENT_BYTES),
        "VIOLET_TEST_SEAL_HOOK": f"{point}:pause:{marker}",
    }
    srv = server(env=env)
    acked = send(srv.url, [big_delivery(i) for i in range(100)])
    pid = wait_for_marker(marker, srv)
    os.kill(pid, signal.SIGKILL)  # the service lives on and seals the segment again
    acked |= send(srv.url, [big_delivery(i) for i in range(100, 110)])
    srv.stop()
    assert '"event": "seal_failed"' in srv.log()
    assert AFTER_RETRY[point] in srv.log()
    assert_all_stored_once(data_dir, acked)
