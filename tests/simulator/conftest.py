"""Shared worlds, generated once per session: generating is the slow part of these tests.

Fixtures hand out plain values (no types defined here), so test modules never import this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator import anomalies, stream, truth
from simulator.deliveries import Delivery
from simulator.options import Options

SECRET = "test-app-secret"

# Mid-sized: two days (whole lifecycles fit), enough anomalies of every kind to count.
MID = Options(seed=11, orders=3000, days=2, anomaly_rates=dict.fromkeys(anomalies.KINDS, 0.004))
SMALL = Options(seed=5, orders=150, days=1)
# Default rates, 2,000 orders over two days (so that refunds net into a later batch).
MIX = Options(seed=17, orders=2000, days=2)


@pytest.fixture(scope="session")
def secret() -> str:
    return SECRET


@pytest.fixture(scope="session")
def mid_options() -> Options:
    return MID


@pytest.fixture(scope="session")
def mid_deliveries() -> list[Delivery]:
    return stream.deliveries(MID, SECRET, workers=1)


@pytest.fixture(scope="session")
def mid_truth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mid-truth")
    truth.write_truth(MID, out, workers=1)
    return out


@pytest.fixture(scope="session")
def mid_summary(mid_truth_dir: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((mid_truth_dir / "summary.json").read_text())
    return summary


@pytest.fixture(scope="session")
def small_options() -> Options:
    return SMALL


@pytest.fixture(scope="session")
def small_deliveries() -> list[Delivery]:
    return stream.deliveries(SMALL, SECRET, workers=1)


@pytest.fixture(scope="session")
def mix_options() -> Options:
    return MIX


@pytest.fixture(scope="session")
def mix_deliveries() -> list[Delivery]:
    return stream.deliveries(MIX, SECRET, workers=1)
