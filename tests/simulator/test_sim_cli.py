"""The `python -m simulator` command line."""

from __future__ import annotations

import json
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
