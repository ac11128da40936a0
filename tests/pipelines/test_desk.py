"""The finance desk: actions on exceptions live in their own append-only store, survive re-runs
and rebuilds, and come back to the open queue when the exception changes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.finance.build import build_finance
from pipelines.finance.desk import store as desk
from pipelines.resources import FinanceSettings

from .handmade import T0, Bag, Order, World

ROOT = Path(__file__).resolve().parents[2]


def world_with_two_missing_transfers(root: Path) -> World:
    w = World(root)
    w.merchant(10)
    w.payout_account(20, 10)
    for n in range(2):
        w.order(Order(100 + n, [Bag(200 + n, order_id=100 + n, merchant_id=10)], 300 + n), at=1)
    return w


def queue(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[object, ...]]:
    rows = con.execute(
        "select bag_id, exception_id, kind, amount_minor, status, owner, note, snoozed_until, "
        "acknowledged_at is not null from finance.exceptions"
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def act(store: Path, row: tuple[object, ...], action: str, **kw: object) -> None:
    exception_id, kind, amount = row[0], row[1], row[2]
    desk.record(
        store,
        desk.Action(
            str(exception_id), action, "ann", desk.now(), seen_kind=str(kind),
            seen_amount_minor=int(str(amount)), **kw,  # type: ignore[arg-type]
        ),
    )  # fmt: skip


def test_acknowledge_assign_snooze_resolve_and_a_changed_amount_reopens(tmp_path: Path) -> None:
    w = world_with_two_missing_transfers(tmp_path)
    store = desk.path(tmp_path)
    con = w.build(as_of_hours=10)
    as_of = FinanceSettings(as_of=(T0 + timedelta(hours=10)).isoformat())
    build_finance(con, as_of, store)
    q = queue(con)
    assert {r[3] for r in q.values()} == {"open"}
    act(store, q[200], "ack")
    act(store, q[200], "assign", owner="bob")
    act(store, q[201], "snooze", until=T0 + timedelta(hours=20), note="waiting for the batch")
    build_finance(con, as_of, store)
    q = queue(con)
    assert q[200][3:7] == ("acknowledged", "bob", None, None)
    assert q[200][7] is True
    assert q[201][3:6] == ("snoozed", None, "waiting for the batch")
    # A re-run keeps them; a later as_of ends the snooze.
    build_finance(con, as_of, store)
    assert queue(con) == q
    build_finance(con, FinanceSettings(as_of=(T0 + timedelta(hours=21)).isoformat()), store)
    assert queue(con)[201][3] == "open"
    # The bag changes (its amount with it): the acknowledgement was about what it was.
    w.order(Order(100, [Bag(200, order_id=100, merchant_id=10, sub_total=12_345)], 300), at=2)
    con.close()
    con = w.build(as_of_hours=10)
    build_finance(con, as_of, store)
    q = queue(con)
    assert q[200][3] == "open"
    assert q[200][4] == "bob"  # still assigned
    assert q[200][7] is False
    # Resolved by hand, with a reason; the audit trail keeps every action.
    act(store, q[201], "resolve", note="paid outside Violet")
    build_finance(con, as_of, store)
    assert queue(con)[201][3:6] == ("resolved_by_hand", None, "paid outside Violet")
    trail = con.execute(
        "select action, actor from finance.exception_actions order by action_id"
    ).fetchall()
    assert trail == [("ack", "ann"), ("assign", "ann"), ("snooze", "ann"), ("resolve", "ann")]


def test_actions_survive_a_rebuild_from_raw_and_are_append_only(tmp_path: Path) -> None:
    w = world_with_two_missing_transfers(tmp_path / "a")
    store = desk.path(tmp_path)
    as_of = FinanceSettings(as_of=(T0 + timedelta(hours=10)).isoformat())
    con = w.build(as_of_hours=10)
    build_finance(con, as_of, store)
    act(store, queue(con)[200], "ack")
    build_finance(con, as_of, store)
    before = queue(con)
    con.close()
    # The same raw files, built into a new warehouse file: the desk's state is the same.
    shutil.copytree(tmp_path / "a" / "raw", tmp_path / "b" / "raw")
    rebuilt = World(tmp_path / "b").build(as_of_hours=10)
    build_finance(rebuilt, as_of, store)
    assert queue(rebuilt) == before
    with sqlite3.connect(store) as raw, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("update actions set actor = 'mallory'")
    with pytest.raises(desk.DeskError, match="reason"):
        desk.record(store, desk.Action("EX-1", "resolve", "ann", desk.now()))


def test_the_cli_works_the_queue_from_the_published_snapshot(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    w = world_with_two_missing_transfers(data_dir)
    con = w.build(as_of_hours=10)
    con.execute("checkpoint")
    con.close()
    shutil.copyfile(data_dir / "warehouse.duckdb", data_dir / "analytics.duckdb")
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir), "VIOLET_DESK_USER": "carol"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipelines", "finance", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    listed = cli("queue")
    assert listed.returncode == 0, listed.stderr
    assert "2 exception(s)" in listed.stdout
    exception_id = listed.stdout.split(" | ")[0]
    assert cli("ack", exception_id, "--note", "looking").returncode == 0
    assert cli("assign", exception_id, "--owner", "dave").returncode == 0
    bad = cli("ack", "EX-0000000000000000")
    assert (bad.returncode, "no exception EX-0000000000000000" in bad.stderr) == (2, True)
    shown = cli("show", exception_id)
    assert "carol: ack: looking" in shown.stdout
    assert "carol: assign (owner dave)" in shown.stdout
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    build_finance(
        con, FinanceSettings(as_of=(T0 + timedelta(hours=10)).isoformat()), desk.path(data_dir)
    )
    assert con.execute(
        "select status, owner, note from finance.exceptions where exception_id = ?",
        [exception_id],
    ).fetchone() == ("acknowledged", "dave", "looking")
