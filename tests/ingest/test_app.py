"""The service through Starlette's TestClient: real app, real store, real files."""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from ingest import sealer, wal
from ingest.app import WEBHOOK_PATH, create_app
from ingest.settings import Settings
from tests.support import OLD_SECRET, SECRET, Delivery, DeliveryFactory, logrec, read_raw
from warehouse_files import layout

ClientFactory = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def client_for(data_dir: Path) -> ClientFactory:
    @contextmanager
    def make(**env: str) -> Iterator[TestClient]:
        settings = Settings.from_env(
            {
                "VIOLET_APP_SECRET": SECRET,
                "VIOLET_APP_SECRET_OLD": OLD_SECRET,
                "VIOLET_DATA_DIR": str(data_dir),
                "VIOLET_MIN_FREE_BYTES": "0",
                **env,
            }
        )
        with TestClient(create_app(settings)) as client:
            yield client

    return make


def post(client: TestClient, d: Delivery) -> tuple[int, dict[str, object]]:
    r = client.post(WEBHOOK_PATH, content=d.body, headers=d.headers)
    return r.status_code, r.json()


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.rsplit(" ", 1)[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"metric {name} not exposed")


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_signed_delivery_is_stored_exactly(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    d = delivery(extra_headers={"Authorization": "Bearer t0ken", "X-Custom-Tag": "blue"})
    with client_for() as client:
        status, answer = post(client, d)
        assert status == 200
        assert answer == {"status": "stored", "sequence": 0}
        assert metric(client, "violet_ingest_deliveries_accepted_total") == 1
    [row] = read_raw(data_dir).to_pylist()
    assert row["body"] == d.body
    assert row["delivery_id"] == d.event_id
    assert row["topic"] == "ORDER_UPDATED"
    assert (row["webhook_id"], row["order_id"], row["bag_id"]) == ("wh-42", "1001", "2002")
    assert row["source_event_id"] is None
    assert row["secret_id"] == "primary"
    headers = json.loads(row["headers"])
    assert headers["x-violet-topic"] == "ORDER_UPDATED"
    assert headers["x-custom-tag"] == "blue"
    assert headers["authorization"] == "[redacted]"
    assert "t0ken" not in row["headers"]
    assert "host" not in headers
    assert "content-length" not in headers


def test_resend_keeps_the_source_event_id(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    d = delivery(extra_headers={"X-Violet-Event-Id-Source": "evt-original"})
    with client_for() as client:
        assert post(client, d)[0] == 200
    [row] = read_raw(data_dir).to_pylist()
    assert row["source_event_id"] == "evt-original"


def test_a_rotated_secret_is_accepted_and_recorded(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    with client_for() as client:
        assert post(client, delivery(secret=OLD_SECRET))[0] == 200
    assert read_raw(data_dir).column("secret_id").to_pylist() == ["old"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"secret": "not-the-secret"}, "bad_signature"),
        ({"drop": ("X-Violet-Hmac",)}, "missing_signature"),
        ({"extra_headers": {"X-Violet-Hmac": "%%%"}}, "malformed_signature"),
    ],
)
def test_unverified_deliveries_get_401_and_are_not_stored(
    client_for: ClientFactory,
    delivery: DeliveryFactory,
    data_dir: Path,
    change: dict[str, object],
    reason: str,
) -> None:
    with client_for() as client:
        status, answer = post(client, delivery(**change))
        assert status == 401
        assert answer["error"] == reason
        assert metric(client, f'violet_ingest_deliveries_rejected_total{{reason="{reason}"}}') == 1
    assert read_raw(data_dir).num_rows == 0


def test_a_body_changed_after_signing_is_refused(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    d = delivery()
    tampered = Delivery(d.body.replace(b"4200", b"4201"), d.headers)
    with client_for() as client:
        assert post(client, tampered)[0] == 401
    assert read_raw(data_dir).num_rows == 0


def test_oversize_body_gets_413(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    with client_for(VIOLET_MAX_BODY_BYTES="1000") as client:
        big = delivery(body=b"x" * 1001)
        status, answer = post(client, big)
        assert status == 413
        assert answer["error"] == "too_large"

        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b"y" * 100

        streamed = client.post(
            WEBHOOK_PATH, content=chunks(), headers={"X-Violet-Hmac": big.headers["X-Violet-Hmac"]}
        )
        assert streamed.status_code == 413
        assert post(client, delivery(body=b"z" * 1000))[0] == 200
    assert read_raw(data_dir).column("body").to_pylist() == [b"z" * 1000]


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("empty body", {"body": b""}),
        ("not json", {"body": b"<html>oops</html>"}),
        ("unknown topic", {"topic": "SOMETHING_NEW_HAPPENED"}),
        ("missing event id", {"drop": ("X-Violet-Event-Id",)}),
        ("missing topic", {"drop": ("X-Violet-Topic", "X-Violet-Webhook-Id")}),
    ],
)
def test_genuine_but_odd_deliveries_are_stored_for_quarantine(
    client_for: ClientFactory,
    delivery: DeliveryFactory,
    data_dir: Path,
    kind: str,
    kwargs: dict[str, object],
) -> None:
    d = delivery(**kwargs)
    with client_for() as client:
        assert post(client, d)[0] == 200, kind
    [row] = read_raw(data_dir).to_pylist()
    assert row["body"] == d.body
    assert row["delivery_id"] == d.headers.get("X-Violet-Event-Id")
    assert row["topic"] == d.headers.get("X-Violet-Topic")


def test_unwritable_data_dir_answers_503_with_retry_after(
    tmp_path: Path, delivery: DeliveryFactory
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    settings = Settings.from_env(
        {"VIOLET_APP_SECRET": SECRET, "VIOLET_DATA_DIR": str(blocker / "data")}
    )
    with TestClient(create_app(settings)) as client:
        forged = delivery(secret="wrong")
        # Verification comes first: a forged delivery is a 401 even when nothing could be stored.
        assert post(client, forged)[0] == 401
        d = delivery()
        r = client.post(WEBHOOK_PATH, content=d.body, headers=d.headers)
        assert r.status_code == 503
        assert r.headers["retry-after"] == "30"
        assert r.json()["error"] == "store_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "not writable" in ready.json()["reason"]
        assert client.get("/healthz").status_code == 200
        assert (
            metric(client, 'violet_ingest_deliveries_rejected_total{reason="store_unavailable"}')
            == 1
        )


def test_readyz_reports_low_disk(client_for: ClientFactory) -> None:
    with client_for(VIOLET_MIN_FREE_BYTES=str(1 << 62)) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert "free disk" in r.json()["reason"]
    with client_for() as client:
        assert client.get("/readyz").json()["status"] == "ready"


def test_segments_seal_at_the_count_limit_while_serving(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    sent = [delivery() for _ in range(7)]
    with client_for(VIOLET_SEAL_MAX_RECORDS="3") as client:
        for d in sent:
            assert post(client, d)[0] == 200
        wait_for(lambda: len(list(data_dir.rglob("*.parquet"))) >= 2)
        assert read_raw(data_dir).num_rows >= 6
        assert metric(client, "violet_ingest_sealed_records_total") >= 6
    table = read_raw(data_dir)
    assert sorted(table.column("delivery_id").to_pylist()) == sorted(d.event_id for d in sent)
    assert sorted(table.column("sequence").to_pylist()) == list(range(7))
    assert not list((layout.wal_dir(data_dir)).rglob("*.wal"))


def test_segments_seal_after_the_time_limit(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    with client_for(VIOLET_SEAL_INTERVAL_SECONDS="0.3") as client:
        assert post(client, delivery())[0] == 200
        wait_for(lambda: read_raw(data_dir).num_rows == 1)
        # The file is visible at its rename; the backlog drops once the segment is released.
        wait_for(lambda: metric(client, "violet_ingest_log_backlog_records") == 0)


def test_leftover_segments_are_recovered_at_start(
    client_for: ClientFactory, data_dir: Path
) -> None:
    # One slot as a killed worker left it (torn tail), one orphaned slot of a worker not restarted.
    for slot, instance in (
        (0, "dead-s0-20261127T000000-aaaa"),
        (5, "dead-s5-20261127T000000-bbbb"),
    ):
        directory = layout.wal_dir(data_dir) / f"slot-{slot}"
        directory.mkdir(parents=True)
        w = wal.SegmentWriter(directory, instance, 4)
        w.append([wal.encode_record(logrec(10 * slot + i)) for i in range(3)])
        w.close()
        with open(w.path, "ab") as fh:
            fh.write(wal.encode_record(logrec(99))[:10])
    with client_for() as client:
        assert read_raw(data_dir).num_rows == 6
        assert metric(client, "violet_ingest_recovered_records_total") == 6
        assert metric(client, "violet_ingest_torn_log_bytes_total") == 20
    assert sorted(read_raw(data_dir).column("sequence").to_pylist()) == [0, 1, 2, 50, 51, 52]
    assert not list((layout.wal_dir(data_dir)).rglob("*.wal"))


def test_two_instances_on_one_data_dir_take_different_slots(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    with client_for() as a, client_for() as b:
        ia = a.get("/readyz").json()["instance"]
        ib = b.get("/readyz").json()["instance"]
        assert ia != ib
        assert "-s0-" in ia
        assert "-s1-" in ib
        assert post(a, delivery())[0] == 200
        assert post(b, delivery())[0] == 200
    table = read_raw(data_dir)
    assert sorted(table.column("ingest_instance").to_pylist()) == sorted([ia, ib])
    assert len(list(data_dir.rglob("*.parquet"))) == 2


def test_only_post_is_allowed(client_for: ClientFactory) -> None:
    with client_for() as client:
        assert client.get(WEBHOOK_PATH).status_code == 405


def test_a_leftover_that_cannot_be_sealed_yet_is_retried_while_serving(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    directory = layout.wal_dir(data_dir) / "slot-0"
    directory.mkdir(parents=True)
    w = wal.SegmentWriter(directory, "dead-s0-20261127T000000-cccc", 0)
    w.append([wal.encode_record(logrec(i)) for i in range(2)])
    w.close()
    (data_dir / "raw").write_text("raw/ is a file for now: sealing fails")
    with client_for() as client:
        assert w.path.exists()
        assert metric(client, "violet_ingest_seal_failures_total") >= 1
        assert post(client, delivery())[0] == 200  # serving goes on meanwhile
        (data_dir / "raw").unlink()
        wait_for(lambda: not w.path.exists())
        assert metric(client, "violet_ingest_recovered_records_total") == 2
    assert read_raw(data_dir).num_rows == 3


def test_a_leftover_whose_sealing_raises_anything_does_not_stop_the_start(
    client_for: ClientFactory, delivery: DeliveryFactory, data_dir: Path
) -> None:
    """Recovery that fails with something other than an OS error (here: a Parquet file in the
    way whose columns cannot be merged with the log's) leaves the segment in the log, counted
    and retried; the service starts and serves."""
    directory = layout.wal_dir(data_dir) / "slot-0"
    directory.mkdir(parents=True)
    w = wal.SegmentWriter(directory, "dead-s0-20261127T000000-eeee", 0)
    w.append([wal.encode_record(logrec(i)) for i in range(2)])
    w.close()
    day = logrec(0).received_at_us // 86_400_000_000
    name = layout.file_name("dead-s0-20261127T000000-eeee", 0)
    date = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")
    final = layout.partition_dir(layout.raw_dir(data_dir), date) / name
    final.parent.mkdir(parents=True)
    pq.write_table(pa.table({"sequence": ["not", "numbers"], "body": [1, 2]}), final)
    with client_for() as client:
        assert post(client, delivery())[0] == 200
        assert w.path.exists()
        assert metric(client, "violet_ingest_seal_failures_total") >= 1


def assert_no_os_detail(text: str, *paths: Path) -> None:
    assert "errno" not in text.lower(), text
    for path in paths:
        assert str(path) not in text, text
    for code in (errno.ENOTDIR, errno.ENOSPC, errno.EACCES, errno.EFBIG, errno.EIO, errno.ENOENT):
        assert os.strerror(code).lower() not in text.lower(), text


def test_503_answers_and_readyz_give_a_reason_without_os_detail(
    tmp_path: Path, delivery: DeliveryFactory
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    settings = Settings.from_env(
        {"VIOLET_APP_SECRET": SECRET, "VIOLET_DATA_DIR": str(blocker / "data")}
    )
    with TestClient(create_app(settings)) as client:
        d = delivery()
        r = client.post(WEBHOOK_PATH, content=d.body, headers=d.headers)
        assert r.status_code == 503
        assert_no_os_detail(r.text, blocker)
        assert r.json()["error"] == "store_unavailable"
        assert r.json()["cause"] == "data_dir_unusable"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert_no_os_detail(ready.text, blocker)
        assert ready.json()["cause"] == "data_dir_unusable"
        assert ready.json()["reason"].startswith("log not writable: ")


def test_released_segments_left_behind_are_removed_at_start(
    client_for: ClientFactory, data_dir: Path
) -> None:
    # In the slot this process takes, and in one that only the sweep of free slots visits.
    released = []
    for slot in (0, 5):
        directory = layout.wal_dir(data_dir) / f"slot-{slot}"
        directory.mkdir(parents=True)
        w = wal.SegmentWriter(directory, f"dead-s{slot}-20261127T000000-dddd", 3)
        w.append([wal.encode_record(logrec(i)) for i in range(2)])
        w.close()
        released.append(w.path.with_suffix(".sealed"))  # sealed into Parquet, renamed away
        w.path.rename(released[-1])
    with client_for() as client:
        assert [p.exists() for p in released] == [False, False]
        assert metric(client, "violet_ingest_recovered_records_total") == 0
    assert read_raw(data_dir).num_rows == 0


def test_recovery_keeps_the_rows_of_a_sealed_file_the_log_lost_and_says_so(
    client_for: ClientFactory, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What an older sealer left when killed while shrinking a segment it had sealed.
    instance = "dead-s0-20261127T000000-eeee"
    records = [logrec(i) for i in range(10)]
    directory = layout.wal_dir(data_dir) / "slot-0"
    directory.mkdir(parents=True)
    w = wal.SegmentWriter(directory, instance, 6)
    w.append([wal.encode_record(r) for r in records])
    w.close()
    sealer.seal([r.to_raw() for r in records], layout.raw_dir(data_dir), instance, 6)
    whole = w.path.read_bytes()
    w.path.write_bytes(whole[: len(whole) // 3])
    with client_for() as client:
        assert metric(client, 'violet_ingest_seal_existing_files_total{outcome="kept"}') == 1
        assert metric(client, "violet_ingest_seal_rows_missing_from_log_total") == 7
    assert sorted(read_raw(data_dir).column("sequence").to_pylist()) == list(range(10))
    [line] = [r for r in caplog.records if getattr(r, "fields", {}).get("outcome") == "kept"]
    assert line.levelname == "ERROR"
    assert line.fields["rows_only_in_file"] == 7  # type: ignore[attr-defined]


def test_the_body_budget_is_given_back_after_every_answer(
    client_for: ClientFactory, delivery: DeliveryFactory
) -> None:
    # Room for one largest body: any share not given back would refuse the next delivery.
    with client_for(VIOLET_MAX_BODY_BYTES="1000", VIOLET_MAX_PENDING_BODY_BYTES="1000") as client:
        for i in range(3):
            assert post(client, delivery(body=b"%04d" % i * 250))[0] == 200
            assert post(client, delivery(body=b"x" * 1000, secret="wrong"))[0] == 401
            assert post(client, delivery(body=b"x" * 1001))[0] == 413
        assert post(client, delivery(body=b"y" * 1000))[0] == 200
