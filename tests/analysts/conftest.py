"""One seeded warehouse, built and published by a real run (`python -m pipelines materialize`
on the simulator's files), shared by the analysts' tests: the DuckDB 1.x client, the notebooks,
the data dictionary and the README's queries all read the snapshot it publishes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.anomalies import KINDS
from simulator.options import Options
from simulator.write import write_raw
from tests.support import SECRET

ROOT = Path(__file__).resolve().parents[2]
# Two days (whole order lifecycles, a quiet topic), every anomaly kind: small enough to build fast.
SEEDED = Options(seed=11, orders=300, days=2, anomaly_rates=dict.fromkeys(KINDS, 0.01))


def materialize(data_dir: Path) -> None:
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "materialize"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data directory of a built warehouse with its published analytics.duckdb."""
    data_dir = tmp_path_factory.mktemp("seeded") / "data"
    write_raw(SEEDED, data_dir, secret=SECRET, segment_records=2000)
    materialize(data_dir)
    return data_dir


@pytest.fixture(scope="session")
def snapshot(seeded: Path) -> Path:
    return seeded / "analytics.duckdb"
