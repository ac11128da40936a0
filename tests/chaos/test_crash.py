"""Crash loop under load (fast): every kind of kill once, a small world of documented traffic."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.anomalies import KINDS as ANOMALIES
from simulator.options import Options
from tests.chaos import crash

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

WORLD = Options(seed=12, orders=500, days=2, anomaly_rates=dict.fromkeys(ANOMALIES, 0.01))


def test_kill_9_of_service_and_sealer_loses_nothing_acknowledged(tmp_path: Path) -> None:
    result = crash.crash_loop(tmp_path, WORLD, kills=len(crash.KINDS), seed=12, deadline_s=120)
    print(
        f"kills {dict(result.kills)} missed {dict(result.missed)}; sent "
        f"{result.ledger.deliveries}, attempts {len(result.ledger.bodies)}, acked "
        f"{result.raw.acked}, stored {result.raw.rows}, lost {len(result.raw.lost)}; "
        f"{result.seconds:.0f} s"
    )
    assert result.problems == []
    # The test proves something only if every kind of kill happened, at its moment.
    assert result.total_kills == len(crash.KINDS), (result.kills, result.missed)
    assert result.kills["sealer-mid-drop"] + result.kills["service-mid-drop"] >= 1, result.missed
