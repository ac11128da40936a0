"""Resources: where the data lives and how the warehouse is opened."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster._utils.backoff import backoff
from dagster_duckdb import DuckDBResource

from pipelines import clock, storage
from pipelines.analytics import SNAPSHOT_FILE
from warehouse_files import layout

# Every step that writes the warehouse runs in this Dagster pool (limit 1: one at a time).
POOL = "warehouse"
WAREHOUSE_FILE = "warehouse.duckdb"


class Warehouse(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The data directory (VIOLET_DATA_DIR) and the DuckDB warehouse in it.

    Only Dagster opens warehouse.duckdb; readers use the published analytics.duckdb.
    Connections come from dagster-duckdb's DuckDBResource (which retries a held file lock).
    """

    data_dir: str
    # DuckDB's own limit; Python, Dagster and Arrow buffers come on top (peak goal: 3 GB; a 1M
    # full build peaks at 2.58 GiB). At 2 GB a 1M load spilled its parsed deliveries to disk.
    memory_limit: str = "2.5GB"
    threads: int = 2
    # A backlog of raw files loads in transactions of about this much Parquet each.
    load_batch_bytes: int = 256 * 1024 * 1024
    # A body dated more than this after its receipt is quarantined (future_timestamp); None:
    # VIOLET_FUTURE_TOLERANCE_HOURS, read at run time, else 24 (pipelines/clock.py).
    future_tolerance_hours: float | None = None

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def raw_dir(self) -> Path:
        return layout.raw_dir(self.root)

    @property
    def database(self) -> Path:
        return self.root / WAREHOUSE_FILE

    @property
    def snapshot(self) -> Path:
        return self.root / SNAPSHOT_FILE

    @property
    def future_tolerance(self) -> timedelta:
        return clock.tolerance(self.future_tolerance_hours)

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A session on warehouse.duckdb, the current database (named "warehouse").

        DuckDBResource opens the session; the file is attached with ROW_GROUP_SIZE, a setting
        DuckDB takes only at ATTACH: rows are written to the file in groups of that many as
        they are inserted, where a table's last, partial group waits for the commit, which
        writes it to the log and then again at the checkpoint (4x the cost per byte: with
        DuckDB's default of 122,880 rows, every current table but one is such a group).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        spill = self.root / "tmp" / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        resource = DuckDBResource(
            database=":memory:",
            connection_config={
                "memory_limit": self.memory_limit,
                "threads": self.threads,
                "temp_directory": str(spill),
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
        with resource.get_connection() as con:
            _attach(con, self.database, ROW_GROUP_SIZE)
            con.execute(f"use {DATABASE_NAME}")
            yield con


DATABASE_NAME = "warehouse"
ROW_GROUP_SIZE = 16_384
ATTACH_RETRIES = 10


def _attach(con: duckdb.DuckDBPyConnection, path: Path, row_group_size: int) -> None:
    """Attach the warehouse, waiting with Dagster's backoff while another process holds its
    lock, as DuckDBResource does for the connections it opens."""
    backoff(
        fn=con.execute,
        retry_on=(duckdb.IOException,),
        args=[f"attach ? as {DATABASE_NAME} ({_options(path, row_group_size)})", [str(path)]],
        max_retries=ATTACH_RETRIES,
    )


def _options(path: Path, row_group_size: int) -> str:
    """A new warehouse is created in the storage version DuckDB 1.x reads (see storage.py)."""
    version = storage.attach_options(exists=path.exists())
    return ", ".join(o for o in (f"row_group_size {int(row_group_size)}", version) if o)


class FinanceSettings(dg.ConfigurableResource):  # type: ignore[type-arg]
    """When finance looks (as_of) and how long money may take before it is missing.

    Each field can be set in the environment (FINANCE_ENV: VIOLET_FINANCE_AS_OF,
    VIOLET_CAPTURE_GRACE_HOURS, VIOLET_CUSTOM_CAPTURE_GRACE_DAYS, VIOLET_TRANSFER_GRACE_DAYS,
    VIOLET_SCHEDULED_TRANSFER_GRACE_DAYS, VIOLET_REVERSAL_GRACE_DAYS,
    VIOLET_REFERENCE_GRACE_HOURS).
    """

    # ISO-8601 instant; empty: the wall clock of the run, in UTC (set it to rebuild a past day).
    as_of: str = ""
    # A payment may stay authorized this long after its date_created before CAPTURE_MISSING.
    capture_grace_hours: float = 1.0
    # ... when its capture_method is CUSTOM (the channel captures later, e.g. at fulfilment).
    custom_capture_grace_days: float = 3.0
    # A captured, owed bag may wait this long after its capture for a transfer.
    transfer_grace_days: float = 0.25
    # ... when its merchant is paid in batches (scheduled transfers): this long after the bag's
    # fulfilment (an unfulfilled bag of such a merchant is not due yet).
    scheduled_transfer_grace_days: float = 2.0
    # A refund may wait this long after its date_created for its transfer reversal.
    reversal_grace_days: float = 0.25
    # A transfer may name an order or bag not received yet for this long (webhooks lag).
    reference_grace_hours: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FinanceSettings:
        env = os.environ if environ is None else environ
        fields: dict[str, Any] = {}
        for name, var in FINANCE_ENV.items():
            value = env.get(var, "").strip()
            if not value:
                continue
            if name == "as_of":
                fields[name] = value
                continue
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{var}={value!r} is not a number") from None
            if not math.isfinite(number) or number < 0:
                raise ValueError(f"{var}={value!r} must be a non-negative number")
            fields[name] = number
        return cls(**fields)


FINANCE_ENV = {
    "as_of": "VIOLET_FINANCE_AS_OF",
    "capture_grace_hours": "VIOLET_CAPTURE_GRACE_HOURS",
    "custom_capture_grace_days": "VIOLET_CUSTOM_CAPTURE_GRACE_DAYS",
    "transfer_grace_days": "VIOLET_TRANSFER_GRACE_DAYS",
    "scheduled_transfer_grace_days": "VIOLET_SCHEDULED_TRANSFER_GRACE_DAYS",
    "reversal_grace_days": "VIOLET_REVERSAL_GRACE_DAYS",
    "reference_grace_hours": "VIOLET_REFERENCE_GRACE_HOURS",
}
