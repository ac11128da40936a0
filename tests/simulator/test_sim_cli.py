"""The `python -m simulator` command line."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from simulator import anomalies, rows
from simulator.__main__ import main, options_from, parser


def test_truth_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["truth", "--out", str(tmp_path), "--orders", "60", "--seed", "4", "--workers", "1"]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert printed["genuine_stored_deliveries"] == summary["genuine_stored_deliveries"] > 0
    for table in (*rows.TABLES, "exceptions"):
        assert pq.read_table(tmp_path / f"{table}.parquet").schema.names
    assert summary["api_fields"] is False
    assert "new_family_topics" in summary
    assert summary["grace"]["scheduled_transfer_grace_days"] == 2.0


def test_defaults_are_documented_payloads_and_api_fields_is_opt_in() -> None:
    args = parser().parse_args(["truth", "--out", "x"])
    options = options_from(args)
    assert options.api_fields is False
    assert options.stream.new_family_topic == 0.002
    assert options.grace.custom_capture_grace_days == 3.0
    assert options.anomaly_rates == dict.fromkeys(anomalies.KINDS, 0.002)


def test_write_needs_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VIOLET_APP_SECRET", raising=False)
    assert main(["write", "--data-dir", str(tmp_path), "--orders", "10"]) == 2
    assert "VIOLET_APP_SECRET" in capsys.readouterr().err


def test_write_takes_the_secret_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIOLET_APP_SECRET", "from-env")
    args = ["write", "--data-dir", str(tmp_path), "--orders", "10", "--workers", "1"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["records"] > 0


def test_rate_options_reach_the_world() -> None:
    args = parser().parse_args(
        [
            "truth", "--out", "x", "--orders", "500", "--days", "3", "--start", "2027-01-15",
            "--retry-rate", "0.1", "--not-json-rate", "0", "--anomaly", "ALL=0.01",
            "--anomaly", "transfer_failed=0.02", "--transfer-grace-days", "0.5",
            "--new-family-topic-rate", "0.01", "--custom-capture-grace-days", "2",
            "--scheduled-transfer-grace-days", "1.5", "--api-fields",
        ]
    )  # fmt: skip
    options = options_from(args)
    assert options.api_fields is True
    assert options.stream.new_family_topic == 0.01
    assert options.grace.custom_capture_grace_days == 2.0
    assert options.grace.scheduled_transfer_grace_days == 1.5
    assert options.anomaly_rates[anomalies.TRANSFER_PARTIALLY_SENT] == 0.01
    assert options.orders == 500
    assert options.days == 3
    assert options.start.isoformat() == "2027-01-15"
    assert options.stream.retry == 0.1
    assert options.stream.not_json == 0.0
    assert options.anomaly_rates[anomalies.TRANSFER_FAILED] == 0.02
    assert options.anomaly_rates[anomalies.CAPTURE_MISSING] == 0.01
    assert options.grace.transfer_grace_days == 0.5


def test_unknown_anomaly_kinds_are_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["truth", "--out", "x", "--anomaly", "NOPE=0.1"])
    assert "unknown anomaly kind" in capsys.readouterr().err


def test_impossible_worlds_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["truth", "--out", str(tmp_path), "--orders", "30", "--anomaly", "ALL=0.5"])
    assert code == 2
    assert "anomal" in capsys.readouterr().err


def test_without_start_the_span_ends_at_the_moment_the_command_starts() -> None:
    before = int(time.time())
    options = options_from(parser().parse_args(["send", "--days", "2"]))
    after = time.time()
    assert before <= options.as_of_s <= after
    assert options.start_s == options.as_of_s - 2 * 86_400
    assert isinstance(options.start, datetime)


def test_a_start_instant_gives_the_same_world_every_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A span starting at an instant (what `send` prints, what the demo passes) is as
    deterministic as one starting on a date: the same truth, byte for byte."""
    args = parser().parse_args(["truth", "--out", "x", "--start", "2026-11-30T13:45:07Z"])
    options = options_from(args)
    assert options.start_s == int(datetime(2026, 11, 30, 13, 45, 7, tzinfo=UTC).timestamp())
    assert options_from(parser().parse_args(["truth", "--out", "x", "--start", "2026-11-30"]))\
        .start_s == int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())  # fmt: skip
    outs = []
    for name in ("a", "b"):
        cmd = ["truth", "--out", str(tmp_path / name), "--orders", "40", "--workers", "1",
               "--start", "2026-11-30T13:45:07Z"]  # fmt: skip
        assert main(cmd) == 0
        outs.append(json.loads(capsys.readouterr().out))
        outs.append((tmp_path / name / "orders.parquet").read_bytes())
    assert outs[0]["as_of"] == "2026-12-01T13:45:07Z"
    assert outs[1] == outs[3]
    with pytest.raises(SystemExit):
        parser().parse_args(["truth", "--out", "x", "--start", "yesterday"])
