"""Configured rates show up in a mid-sized world, within statistical tolerance."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from simulator import anomalies
from simulator.deliveries import GENUINE, Delivery
from simulator.options import Options


def _near(observed: int, trials: int, rate: float) -> bool:
    """Within five standard deviations of a binomial(trials, rate) mean."""
    mean = trials * rate
    spread: float = 5 * (mean * (1 - rate)) ** 0.5 + 1
    return abs(observed - mean) <= spread


def test_each_anomaly_kind_is_injected_at_its_rate(
    mid_options: Options, mid_truth_dir: Path, mid_summary: dict[str, Any]
) -> None:
    kinds = Counter(
        r["kind"] for r in pq.read_table(mid_truth_dir / "exceptions.parquet").to_pylist()
    )
    expected = mid_options.anomaly_counts()
    assert dict(kinds) == {k: n for k, n in expected.items() if n}
    assert expected == dict.fromkeys(anomalies.KINDS, 12)
    assert mid_summary["exceptions_by_kind"] == expected


def test_duplicates_and_bad_deliveries_land_near_their_rates(
    mid_options: Options, mid_deliveries: list[Delivery], mid_summary: dict[str, Any]
) -> None:
    rates = mid_options.stream
    logical = mid_summary["logical_events"]
    originals = logical - mid_summary["bad_deliveries"]["not_json"]
    originals -= mid_summary["bad_deliveries"]["unknown_topic"]
    new_family = sum(mid_summary["new_family_topics"].values())
    originals -= new_family
    assert _near(new_family, originals, rates.new_family_topic)
    per_event: Counter[str] = Counter()
    for d in mid_deliveries:
        if d.kind == GENUINE and d.header("X-Violet-Event-Id-Source") is None:
            per_event[d.header("X-Violet-Event-Id") or ""] += 1
    retried_events = sum(1 for n in per_event.values() if n > 1)
    assert _near(retried_events, originals, rates.retry)
    assert _near(mid_summary["resends"], originals, rates.resend)
    assert _near(mid_summary["late_first_deliveries"], originals, rates.late)
    bad = mid_summary["bad_deliveries"]
    for kind in ("bad_signature", "not_json", "unknown_topic", "missing_topic"):
        assert _near(bad[kind], originals, getattr(rates, kind)), kind
    # Only events whose body no other event shares may lose their id: fewer than the rate.
    assert 0 < bad["missing_event_id"] <= originals * rates.missing_event_id * 1.5
    assert mid_summary["out_of_order_versions"] > 0
