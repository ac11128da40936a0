"""Worlds from the simulator, built into real DuckDB files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines.core import build as core_build
from pipelines.ops import build as ops_build
from pipelines.resources import FinanceSettings
from pipelines.staging import build as staging_build
from simulator import clock
from simulator.anomalies import KINDS
from simulator.options import Options
from simulator.truth import write_truth
from simulator.write import write_raw
from tests.support import SECRET
from warehouse_files import layout

# Small but with every quirk and every anomaly kind present.
WORLD = Options(seed=11, orders=400, days=2, anomaly_rates=dict.fromkeys(KINDS, 0.01))


def end_of(options: Options) -> str:
    """The end of a world's span: the instant its truth describes (finance's as_of in tests)."""
    return clock.iso(options.as_of_s)


def at_end(options: Options, **settings: float) -> FinanceSettings:
    """Finance settings looking from the end of the world's span (as_of would be the wall clock
    otherwise, weeks after a world dated 2026-11-01)."""
    return FinanceSettings(as_of=end_of(options), **settings)


@dataclass(frozen=True)
class World:
    data_dir: Path
    truth_dir: Path

    @property
    def raw_dir(self) -> Path:
        return layout.raw_dir(self.data_dir)


def make_world(root: Path, options: Options, segment_records: int = 100_000) -> World:
    world = World(root / "data", root / "truth")
    write_raw(options, world.data_dir, secret=SECRET, segment_records=segment_records)
    write_truth(options, world.truth_dir)
    return world


def build(con: duckdb.DuckDBPyConnection, raw_dir: Path, max_files: int | None = None) -> None:
    """Everything a run does, by the same functions the assets call."""
    while True:
        result = staging_build.load_staging(con, raw_dir, max_files=max_files)
        if not result.pending_files:
            break
    core_build.build_core(con)
    ops_build.build_ops(con)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("world"), WORLD, segment_records=1500)


@pytest.fixture(scope="session")
def built(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world built in one go into its own warehouse file."""
    path = tmp_path_factory.mktemp("built") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        build(con, world.raw_dir)
    return path
