"""The finance desk's actions on exceptions: an append-only audit trail outside the warehouse.

Finance acknowledges, assigns, comments on, snoozes and resolves exceptions by their stable
`exception_id`. Each action is one row, never updated or deleted: who, when, what, and the
exception's kind and amount as the person saw them. The store is a SQLite file of its own
(`<data>/finance_desk/actions.sqlite3`, WAL), so an action never waits for a pipeline run and never
blocks one; each finance build reads every action (`actions`) and folds them into
`finance.exceptions` and `finance.exception_log` (sql/finance/_workflow.sql).

Actions: `ack`, `assign` (owner), `comment` (note), `snooze` (until an instant), `resolve` (by hand,
with a reason), `reopen`. An exception acknowledged, snoozed or resolved by hand comes back to
the open queue when its kind or amount changes afterwards (the action was about what it was).
"""

from __future__ import annotations

import getpass
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

ACTIONS = ("ack", "assign", "comment", "snooze", "resolve", "reopen")
FILE = "actions.sqlite3"

_SCHEMA = """
create table if not exists actions (
    action_id integer primary key autoincrement,
    exception_id text not null,
    action text not null,
    actor text not null,
    acted_at text not null,      -- ISO-8601 UTC, microseconds
    owner text,                  -- assign
    note text,                   -- comment, resolve (the reason), any action's remark
    until text,                  -- snooze: ISO-8601 UTC
    seen_kind text,              -- the exception as the person saw it
    seen_amount_minor integer
);
create trigger if not exists actions_append_only_update before update on actions
begin select raise(abort, 'finance desk actions are append-only'); end;
create trigger if not exists actions_append_only_delete before delete on actions
begin select raise(abort, 'finance desk actions are append-only'); end;
"""


class DeskError(ValueError):
    """An action that cannot be recorded (unknown exception, bad argument)."""


@dataclass(frozen=True)
class Action:
    exception_id: str
    action: str
    actor: str
    at: datetime
    owner: str | None = None
    note: str | None = None
    until: datetime | None = None
    seen_kind: str | None = None
    seen_amount_minor: int | None = None


def path(data_dir: Path) -> Path:
    return data_dir / "finance_desk" / FILE


@contextmanager
def _open(store: Path) -> Iterator[sqlite3.Connection]:
    store.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(store, timeout=30, isolation_level=None)) as con:
        con.execute("pragma journal_mode = wal")
        con.execute("pragma synchronous = full")  # an acknowledged action survives a crash
        con.executescript(_SCHEMA)
        yield con


def record(store: Path, action: Action) -> int:
    """Append one action; returns its id."""
    if action.action not in ACTIONS:
        raise DeskError(f"unknown action {action.action!r}; one of {', '.join(ACTIONS)}")
    if action.action == "assign" and not action.owner:
        raise DeskError("assign needs an owner")
    if action.action in ("comment", "resolve") and not (action.note or "").strip():
        raise DeskError(f"{action.action} needs a note (resolve: the reason)")
    if action.action == "snooze" and action.until is None:
        raise DeskError("snooze needs --until (an ISO-8601 date or time)")
    with _open(store) as con:
        cur = con.execute(
            "insert into actions (exception_id, action, actor, acted_at, owner, note, until, "
            "seen_kind, seen_amount_minor) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                action.exception_id,
                action.action,
                action.actor,
                _iso(action.at),
                action.owner,
                action.note,
                _iso(action.until) if action.until else None,
                action.seen_kind,
                action.seen_amount_minor,
            ),
        )
        return int(cur.lastrowid or 0)


def actions(store: Path) -> list[tuple[object, ...]]:
    """Every action, in the order recorded."""
    if not store.exists():
        return []
    with _open(store) as con:
        return con.execute(
            "select action_id, exception_id, action, actor, acted_at, owner, note, until, "
            "seen_kind, seen_amount_minor from actions order by action_id"
        ).fetchall()


def load(con: duckdb.DuckDBPyConnection, store: Path | None) -> None:
    """The actions as temp table fin_actions (empty when there is no store)."""
    con.execute(
        "create or replace temp table fin_actions (action_id bigint, exception_id varchar, "
        "action varchar, actor varchar, acted_at timestamptz, owner varchar, note varchar, "
        "until timestamptz, seen_kind varchar, seen_amount_minor bigint)"
    )
    rows = actions(store) if store is not None else []
    if rows:
        con.executemany("insert into fin_actions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def now() -> datetime:
    return datetime.now(UTC)


def actor() -> str:
    """Who acts: VIOLET_DESK_USER, else the login name."""
    import os

    return os.environ.get("VIOLET_DESK_USER") or getpass.getuser()
