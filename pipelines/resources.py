"""Resources: where the data lives and how the warehouse is opened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

WAREHOUSE_FILE = "warehouse.duckdb"
SNAPSHOT_FILE = "analytics.duckdb"


class Warehouse(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The data directory (VIOLET_DATA_DIR) and the DuckDB warehouse in it.

    Only Dagster opens warehouse.duckdb; readers use the published analytics.duckdb.
    Connections come from dagster-duckdb's DuckDBResource (which retries a held file lock).
    """

    data_dir: str
    # DuckDB's own limit; Python, Dagster and Arrow buffers come on top (peak goal: 3 GB).
    memory_limit: str = "2GB"
    threads: int = 2
    # A backlog of raw files loads in transactions of about this much Parquet each.
    load_batch_bytes: int = 256 * 1024 * 1024

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw" / "violet"

    @property
    def database(self) -> Path:
        return self.root / WAREHOUSE_FILE

    @property
    def snapshot(self) -> Path:
        return self.root / SNAPSHOT_FILE

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.root.mkdir(parents=True, exist_ok=True)
        spill = self.root / "tmp" / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        resource = DuckDBResource(
            database=str(self.database),
            connection_config={
                "memory_limit": self.memory_limit,
                "threads": self.threads,
                "temp_directory": str(spill),
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
        with resource.get_connection() as con:
            yield con
