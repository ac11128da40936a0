"""The DuckDB storage version the warehouse and its snapshot are written in.

DuckDB 2 writes storage version 69 by default, which no DuckDB 1.x client (CLI 1.5, ODBC/JDBC
drivers, BI tools built on them) can read. A file created with STORAGE_VERSION 'v1.4.0' is read
by DuckDB 1.4 and later, keeps every COMMENT, and costs nothing here (DuckDB 2 reads and writes
it natively). The warehouse is created in that version, so the snapshot stays a plain file copy;
a warehouse made before (version 2) is published through COPY FROM DATABASE instead, which is
much slower (38 s for the 1M-delivery benchmark's warehouse, against 1-2 s for the copy).
"""

from __future__ import annotations

import duckdb

# Oldest DuckDB release that must open analytics.duckdb (tests/test_snapshot_compat.py opens it
# with the DuckDB 1.x client of .venv-duckdb1/).
STORAGE_VERSION = "v1.4.0"


def attach_options(exists: bool) -> str:
    """ATTACH options for a database file: the storage version only for a new file (that of an
    existing file cannot be lowered; DuckDB refuses)."""
    return "" if exists else f"storage_version '{STORAGE_VERSION}'"


def readable_by_duckdb1(con: duckdb.DuckDBPyConnection, database: str) -> bool:
    """Whether the attached `database` is written in a storage version DuckDB 1.4 reads."""
    row = con.execute(
        "select tags['storage_version'] from duckdb_databases() where database_name = ?",
        [database],
    ).fetchone()
    version = str(row[0] or "") if row else ""
    return version.startswith("v1.")
