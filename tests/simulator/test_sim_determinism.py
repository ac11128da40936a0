"""Same seed and options: byte-identical deliveries, whatever the number of worker processes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from simulator import rows, stream, truth, write
from simulator.deliveries import Delivery
from simulator.options import Grace, Options, OptionsError, StreamRates
from simulator.world import WorldPlan


def _digest(ds: list[Delivery]) -> str:
    h = hashlib.sha256()
    for d in ds:
        h.update(f"{d.at_us}|{d.kind}|{d.headers!r}|".encode())
        h.update(d.body)
    return h.hexdigest()


def test_same_seed_gives_byte_identical_deliveries(
    small_options: Options, small_deliveries: list[Delivery], secret: str
) -> None:
    again = stream.deliveries(small_options, secret, workers=1)
    assert [tuple(d) for d in again] == [tuple(d) for d in small_deliveries]


def test_another_seed_gives_another_stream(
    small_options: Options, small_deliveries: list[Delivery], secret: str
) -> None:
    other = Options(seed=small_options.seed + 1, orders=small_options.orders)
    bodies = {d.body for d in stream.deliveries(other, secret, workers=1)}
    assert bodies.isdisjoint({d.body for d in small_deliveries if b'"date_created"' in d.body})


def test_the_secret_changes_only_signatures(
    small_options: Options, small_deliveries: list[Delivery]
) -> None:
    other = stream.deliveries(small_options, "another-secret", workers=1)
    assert [d.body for d in other] == [d.body for d in small_deliveries]
    assert [d.at_us for d in other] == [d.at_us for d in small_deliveries]
    assert other[0].header("X-Violet-Hmac") != small_deliveries[0].header("X-Violet-Hmac")


@pytest.mark.timeout(120)
def test_worker_processes_do_not_change_the_stream(secret: str) -> None:
    options = Options(seed=3, orders=2_500)  # two order chunks, two merchant groups
    inline = stream.deliveries(options, secret, workers=1)
    parallel = stream.deliveries(options, secret, workers=2)
    assert len(inline) == len(parallel) > 20_000
    assert _digest(inline) == _digest(parallel)


def test_write_is_byte_identical_when_repeated(tmp_path: Path, secret: str) -> None:
    options = Options(seed=9, orders=120)
    first = write.write_raw(options, tmp_path / "a", secret=secret, segment_records=700, workers=1)
    second = write.write_raw(options, tmp_path / "b", secret=secret, segment_records=700, workers=1)
    assert first.segments == second.segments > 1
    for a, b in zip(first.files, second.files, strict=True):
        assert a.relative_to(tmp_path / "a") == b.relative_to(tmp_path / "b")
        assert a.read_bytes() == b.read_bytes()


def test_options_that_cannot_make_a_world_are_refused() -> None:
    with pytest.raises(OptionsError, match="only"):
        WorldPlan(Options(orders=20, anomaly_rates={"TRANSFER_FAILED": 1.0}))
    with pytest.raises(OptionsError, match="too short"):
        WorldPlan(Options(orders=1000, grace=Grace(transfer_grace_days=1.0)))
    with pytest.raises(OptionsError, match="unknown anomaly"):
        Options(anomaly_rates={"NOT_A_KIND": 0.1})
    with pytest.raises(OptionsError, match="within"):
        Options(stream=StreamRates(retry=1.5))
    with pytest.raises(OptionsError, match="orders"):
        Options(orders=0)
    with pytest.raises(OptionsError, match="scheduled_transfer_grace_days"):
        Options(grace=Grace(scheduled_transfer_grace_days=0.5))  # batches run once a day
    with pytest.raises(OptionsError, match="custom_capture_grace_days"):
        Options(grace=Grace(custom_capture_grace_days=0.1))  # CUSTOM captures take up to 5 h


def test_the_long_graces_do_not_move_the_anomaly_window() -> None:
    plan = WorldPlan(Options(orders=1000))
    longer = WorldPlan(
        Options(
            orders=1000, grace=Grace(custom_capture_grace_days=9, scheduled_transfer_grace_days=9)
        )
    )
    assert plan.anomaly_end_s == longer.anomaly_end_s
    assert plan.anomalies == longer.anomalies


@pytest.mark.timeout(120)
def test_truth_does_not_depend_on_worker_processes(tmp_path: Path) -> None:
    options = Options(seed=3, orders=2_500)  # two chunks: transfers' merchants cross processes
    a = truth.write_truth(options, tmp_path / "a", workers=1)
    b = truth.write_truth(options, tmp_path / "b", workers=2)
    assert a == b
    for table in (*rows.TABLES, "exceptions"):
        left = pq.read_table(tmp_path / "a" / f"{table}.parquet")
        right = pq.read_table(tmp_path / "b" / f"{table}.parquet")
        assert left.equals(right), table
