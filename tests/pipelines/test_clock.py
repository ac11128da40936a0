"""Finance's clock is the run's wall clock; a sender's clock is never trusted: a body dated past
the future tolerance (VIOLET_FUTURE_TOLERANCE_HOURS) is quarantined and reported by the
quarantine check, and even a body dated ahead within the tolerance does not move finance's as_of.
Real Dagster runs of the whole job on real files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingest.sealer import seal
from pipelines import clock
from pipelines.definitions import defs
from pipelines.finance.build import parse_as_of
from warehouse_files import layout

from .test_robustness import ORD, changed, record


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, now: datetime
) -> dg.ExecuteInProcessResult:
    """Three versions of one order, received now: an hour old, 30 min ahead, 3 h ahead."""
    dated = [
        ("v1", now - timedelta(hours=1), "ACCEPTED"),
        ("v2", now + timedelta(minutes=30), "COMPLETED"),
        ("v3", now + timedelta(hours=3), "REJECTED"),
    ]
    records = [
        record(ORD, changed(ORD, date_last_modified=_z(t), status=s), v, i, _us(now) + i)
        for i, (v, t, s) in enumerate(dated)
    ]
    seal(records, layout.raw_dir(data_dir), "t", 1)
    monkeypatch.setenv("VIOLET_DATA_DIR", str(data_dir))
    monkeypatch.delenv("VIOLET_FINANCE_AS_OF", raising=False)
    return defs.resolve_job_def("warehouse_job").execute_in_process(raise_on_error=False)


def finance_as_of(result: dg.ExecuteInProcessResult) -> datetime:
    queue = next(
        m
        for m in result.asset_materializations_for_node("finance_marts")
        if m.asset_key == dg.AssetKey(["finance", "exceptions"])
    )
    return parse_as_of(str(queue.metadata["as_of"].value))


def quarantine_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    for event in result.all_events:
        data = (
            event.asset_check_evaluation_data
            if event.event_type_value == ("ASSET_CHECK_EVALUATION")
            else None
        )
        if data is not None and data.check_name == "quarantine_rate":
            return data
    raise AssertionError("no quarantine_rate evaluation")


def test_a_delivery_dated_past_the_tolerance_is_reported_and_moves_no_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(clock.FUTURE_TOLERANCE_ENV, "1")
    now = datetime.now(UTC).replace(microsecond=0)
    result = run(tmp_path / "data", monkeypatch, now)
    done = datetime.now(UTC)
    assert result.success
    # Finance looks from the wall clock of the run, not from the newest body (v2, 30 min ahead).
    as_of = finance_as_of(result)
    assert now <= as_of <= done
    with duckdb.connect(str(tmp_path / "data" / "analytics.duckdb"), read_only=True) as con:
        # v2 is within the hour of tolerance: current; v3 (3 h ahead) is quarantined, not state.
        assert con.execute("select event_key, status from core.orders").fetchall() == [
            ("v2", "COMPLETED")
        ]
        assert con.execute(
            "select delivery_id, reason, detail from staging.quarantine"
        ).fetchall() == [("v3", "future_timestamp", "date_last_modified")]
        assert con.execute(
            "select count(*) from core.orders_history where status = 'REJECTED'"
        ).fetchone() == (0,)
    check = quarantine_check(result)
    assert not check.passed
    assert check.metadata["future_dated_in_run"].value == 1
    assert check.metadata["future_tolerance_hours"].value == 1.0


def test_the_default_tolerance_is_a_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.FUTURE_TOLERANCE_ENV, raising=False)
    now = datetime.now(UTC).replace(microsecond=0)
    result = run(tmp_path / "data", monkeypatch, now)
    assert result.success
    # 3 h ahead is within a day: stored as state, and still no clock for finance.
    assert finance_as_of(result) <= datetime.now(UTC)
    with duckdb.connect(str(tmp_path / "data" / "analytics.duckdb"), read_only=True) as con:
        assert con.execute("select event_key from core.orders").fetchall() == [("v3",)]
    check = quarantine_check(result)
    assert check.passed
    assert check.metadata["future_tolerance_hours"].value == 24.0


def test_the_tolerance_setting_is_checked() -> None:
    assert clock.future_tolerance_hours({}) == 24.0
    assert clock.future_tolerance_hours({clock.FUTURE_TOLERANCE_ENV: "0.5"}) == 0.5
    for bad in ("soon", "-1", "nan"):
        with pytest.raises(ValueError, match=clock.FUTURE_TOLERANCE_ENV):
            clock.future_tolerance_hours({clock.FUTURE_TOLERANCE_ENV: bad})
