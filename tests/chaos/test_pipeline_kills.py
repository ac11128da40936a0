"""kill -9 of `python -m pipelines materialize` in each step: the snapshot stays the last good
one, and the next run completes and equals a clean rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.anomalies import KINDS as ANOMALIES
from simulator.options import Options
from tests.chaos import pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

WORLD = Options(seed=21, orders=300, days=2, anomaly_rates=dict.fromkeys(ANOMALIES, 0.01))


def test_a_run_killed_in_any_step_leaves_the_snapshot_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    result = pipeline.pipeline_kills(tmp_path, WORLD, seed=21, wait_s=45, final_timeout_s=90)
    for kill in result.kills:
        print(kill)
    assert result.problems == []
    assert {k.step for k in result.kills if k.killed_in_step} == set(pipeline.STEPS)
