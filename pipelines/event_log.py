"""Dagster's SQLite event log, with its connections kept open.

The stock `SqliteEventLogStorage` builds a new SQLAlchemy engine and SQLite connection for
every read and write (NullPool), and closing the last connection to a WAL database checkpoints
and deletes its WAL: milliseconds per run event, several times that per asset or check event
(those are written to the run's database and twice to the index); a run of this warehouse
writes a few hundred events, and each step also claims and frees a pool slot through the
index. Keeping one engine per database file made a run with nothing new on the 1M-delivery
benchmark warehouse about a quarter faster (the figures: bench/RESULTS.md, "Figures behind
choices in the code"). The files, schema and semantics are Dagster's own: the stock storage,
the webserver and the daemon read and write them as before.

A run's own database is checkpointed after every transaction: the UI follows a live run by
watching that file for changes, and with open connections the new events would otherwise sit
in the WAL file until an automatic checkpoint.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster._config import Field, StringSource
from dagster._config.config_schema import UserConfigSchema
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

# Run databases whose engines stay open at once (the index's always does). A run writes only
# its own; a webserver showing many runs opens and closes the older ones as it goes.
OPEN_RUN_DATABASES = 4


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage that reuses one engine (and its connections) per database file.

    In dagster.yaml (`python -m pipelines` writes this on first use):

        event_log_storage:
          module: pipelines.event_log
          class: PooledSqliteEventLogStorage

    `base_dir` defaults to `$DAGSTER_HOME/history/runs`, where Dagster's default storage keeps
    the event log, so switching between this class and the stock one keeps every run's history.
    (So an instance loaded with `DagsterInstance.from_config(dir)` needs DAGSTER_HOME=dir too.)
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise DagsterInvariantViolationError(
                    "PooledSqliteEventLogStorage: set DAGSTER_HOME (its event log is "
                    "$DAGSTER_HOME/history/runs) or give base_dir in its config"
                )
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            self._engines[shard] = engine
            runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
            for old in runs[:-OPEN_RUN_DATABASES]:
                self._engines.pop(old).dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME:
                    # Fold the WAL into <run_id>.db now, so a watcher of that file sees it.
                    conn.exec_driver_sql("pragma wal_checkpoint(passive)")

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
