"""`python -m pipelines finance ...`: work the exceptions queue from a terminal.

    finance queue [--all]                      the working queue (open and acknowledged; --all:
                                               snoozed and resolved by hand too), by money at stake
    finance show EX-...                        one exception and every action on it
    finance ack EX-... [--note TEXT]
    finance assign EX-... --owner NAME
    finance comment EX-... --note TEXT
    finance snooze EX-... --until 2026-12-08 [--note TEXT]
    finance resolve EX-... --note REASON       resolved by hand (the reason is required)
    finance reopen EX-...

Exceptions are read from the published snapshot (analytics.duckdb, read-only: this never waits
for a run nor blocks one); actions go to the desk's own store (store.py) and show in
finance.exceptions from the next run on. `--as NAME` (or VIOLET_DESK_USER) says who acts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from pipelines.finance.build import parse_as_of
from pipelines.finance.desk import store as desk

QUEUE = """
select exception_id, status, kind, severity, currency, amount_minor, coalesce(owner, '') as owner,
    age_days, detail
from finance.exceptions
where ? or status in ('open', 'acknowledged')
order by amount_minor desc, exception_id
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="desk_command", required=True)
    queue = sub.add_parser("queue", help="the working queue, largest money at stake first")
    queue.add_argument("--all", action="store_true", help="also snoozed and resolved by hand")
    show = sub.add_parser("show", help="one exception and its history")
    show.add_argument("exception_id")
    for name in desk.ACTIONS:
        p = sub.add_parser(name, help=f"{name} an exception")
        p.add_argument("exception_id")
        p.add_argument("--note", help="a comment (resolve: the reason)")
        p.add_argument("--as", dest="actor", help="who acts (default $VIOLET_DESK_USER or login)")
        if name == "assign":
            p.add_argument("--owner", required=True)
        if name == "snooze":
            p.add_argument("--until", required=True, help="ISO-8601 date or instant (UTC)")


def _snapshot(data_dir: Path) -> duckdb.DuckDBPyConnection:
    path = data_dir / "analytics.duckdb"
    if not path.exists():
        raise desk.DeskError(f"no published snapshot at {path}: run `make materialize` first")
    return duckdb.connect(str(path), read_only=True)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    try:
        return _run(args, data_dir)
    except desk.DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, data_dir: Path) -> int:
    store = desk.path(data_dir)
    command = args.desk_command
    if command == "queue":
        with _snapshot(data_dir) as con:
            rows = con.execute(QUEUE, [bool(args.all)]).fetchall()
        for row in rows:
            print(" | ".join("" if v is None else str(v) for v in row))
        print(f"{len(rows)} exception(s)")
        return 0
    with _snapshot(data_dir) as con:
        found = con.execute(
            "select kind, amount_minor, currency, status, detail from finance.exception_log "
            "where exception_id = ?",
            [args.exception_id],
        ).fetchone()
    if found is None:
        raise desk.DeskError(f"no exception {args.exception_id} in the published snapshot")
    kind, amount, currency, status, detail = found
    if command == "show":
        print(f"{args.exception_id}: {kind} {amount} {currency} ({status}): {detail}")
        for row in desk.actions(store):
            if row[1] == args.exception_id:
                _, _, action, actor, at, owner, note, until, seen_kind, seen_amount = row
                extra = ", ".join(
                    f"{k} {v}" for k, v in (("owner", owner), ("until", until)) if v is not None
                )
                said = f": {note}" if note else ""
                extra = f" ({extra})" if extra else ""
                print(f"  {at}  {actor}: {action}{extra}{said}  [saw {seen_kind} {seen_amount}]")
        return 0
    until = parse_as_of(args.until) if command == "snooze" else None
    action_id = desk.record(
        store,
        desk.Action(
            exception_id=args.exception_id,
            action=command,
            actor=args.actor or desk.actor(),
            at=desk.now(),
            owner=getattr(args, "owner", None),
            note=args.note,
            until=until,
            seen_kind=kind,
            seen_amount_minor=amount,
        ),
    )
    print(f"recorded action {action_id}: {command} {args.exception_id} (shows from the next run)")
    return 0
