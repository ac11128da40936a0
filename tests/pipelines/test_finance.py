"""Finance against the simulator's truth: every injected anomaly is found once, with the right
kind and amount, and healthy orders produce none; the queue's ids and first_seen_at survive
re-runs; problems that go away are resolved in the log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.core import build as core_build
from pipelines.finance.build import KINDS, build_finance, parse_as_of, queue
from pipelines.finance.checks import INVARIANTS
from pipelines.resources import FinanceSettings
from pipelines.staging import build as staging_build
from simulator import anomalies
from simulator.options import Options
from warehouse_files import layout

from .conftest import WORLD, World, at_end, build, end_of, make_world

AT_END = at_end(WORLD)

Row = tuple[object, ...]


def found(con: duckdb.DuckDBPyConnection) -> Counter[Row]:
    return queue(con)


def expected(world: World) -> Counter[Row]:
    path = str(world.truth_dir / "exceptions.parquet")
    with duckdb.connect() as con:
        return queue(con, "read_parquet(?)", [path])


def copy_of(path: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(path, target)
    return duckdb.connect(str(target))


@pytest.fixture
def con(built: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A copy of the built world's warehouse with finance built once."""
    con = copy_of(built, tmp_path)
    build_finance(con, AT_END)
    return con


def test_the_queue_is_exactly_the_injected_anomalies(
    world: World, con: duckdb.DuckDBPyConnection
) -> None:
    truth = expected(world)
    assert {kind for kind, *_ in truth} == set(anomalies.KINDS), "every kind must be injected"
    got = found(con)
    assert got - truth == Counter(), "exceptions the simulator did not inject (precision)"
    assert truth - got == Counter(), "injected anomalies not found (recall)"


@pytest.mark.parametrize(
    "options",
    [
        Options(seed=29, orders=600, days=1, anomaly_rates=dict.fromkeys(anomalies.KINDS, 0.01)),
        Options(seed=3, orders=300, days=1, anomaly_rates=dict.fromkeys(anomalies.KINDS, 0.0)),
    ],
    ids=["another-seed", "healthy"],
)
def test_other_worlds(options: Options, tmp_path: Path) -> None:
    world = make_world(tmp_path, options)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        build(con, world.raw_dir)
        result = build_finance(con, at_end(options))
        truth = expected(world)
        assert found(con) == truth
        assert result.open == sum(truth.values())
        if not any(options.anomaly_rates.values()):
            assert result.open == 0
            states = dict(
                con.execute(
                    "select settlement_state, count(*) from finance.bag_settlements group by 1"
                ).fetchall()
            )
            assert states.get("SETTLED", 0) > 0
            assert not {"FAILED", "MISMATCH"} & set(states)


def test_as_of_defaults_to_the_wall_clock_of_the_run(
    world: World, built: Path, tmp_path: Path
) -> None:
    """Not the newest date some sender wrote (the world ends on 2026-11-03): the moment of the
    run, in UTC; an explicit as_of stays for rebuilds."""
    con = copy_of(built, tmp_path)
    before = datetime.now(UTC)
    result = build_finance(con)
    after = datetime.now(UTC)
    assert before <= result.as_of <= after
    stamped = con.execute("select min(as_of), max(as_of) from finance.exceptions").fetchone()
    assert stamped == (result.as_of, result.as_of)
    newest = con.execute("select max(date_last_modified) from core.orders").fetchone()
    assert newest is not None
    assert newest[0] < before
    explicit = build_finance(con, AT_END)
    assert explicit.as_of == parse_as_of(end_of(WORLD))


def test_rerunning_keeps_ids_and_first_seen(con: duckdb.DuckDBPyConnection) -> None:
    def snapshot() -> list[Row]:
        return con.execute(
            "select exception_id, kind, first_seen_at, last_seen_at, resolved_at, amount_minor, "
            "detail from finance.exception_log order by exception_id"
        ).fetchall()

    marts = "select * from finance.bag_settlements order by bag_id"
    before, settlements = snapshot(), con.execute(marts).fetchall()
    result = build_finance(con, AT_END)
    assert result.opened == 0
    assert result.resolved == 0
    assert snapshot() == before
    assert con.execute(marts).fetchall() == settlements
    # A rebuild of core from raw data gives the same ids.
    ids = {row[0] for row in before}
    assert len(ids) == len(before)


def test_a_multi_bag_transfer_with_the_right_total_settles_all_its_bags(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = con.execute(
        """
        select t.id, list(s.settlement_state), sum(s.expected_minor), any_value(t.amount_minor)
        from core.transfers as t, unnest(t.related_bags) as r(bag)
        join finance.bag_settlements as s on s.bag_id = try_cast(r.bag as bigint)
        where t.status = 'SENT' and len(t.related_bags) > 1
        group by t.id
        having count(s.refund_kind) = 0 and count(distinct s.order_id) > 1
        """
    ).fetchall()
    assert rows, "the world has no netted transfer over several orders: the test proves nothing"
    for transfer_id, states, expected_total, amount in rows:
        assert amount == expected_total, transfer_id
        assert set(states) == {"SETTLED"}, transfer_id


def test_a_refund_with_its_reversal_is_quiet_without_it_reversal_missing(
    con: duckdb.DuckDBPyConnection,
) -> None:
    healthy = con.execute(
        """
        select s.bag_id, s.reversed_minor, t.id
        from finance.bag_settlements as s
        join core.transfers as t on t.id = s.transfer_ids[1]
        where s.settlement_state = 'REVERSED' and s.refund_kind = 'FULL' and len(s.transfer_ids) = 1
            and len(t.related_bags) = 1 and t.status = 'REVERSED'
        order by s.bag_id
        """
    ).fetchall()
    assert healthy, "the world has no reversed refund: the test proves nothing"
    bag_id, reversed_minor, transfer_id = healthy[0]
    flagged = con.execute(
        "select count(*) from finance.exceptions where bag_id = ?", [bag_id]
    ).fetchone()
    assert flagged == (0,)
    before = found(con)
    # The same world, had the reversal never reached the transfer (its status stayed SENT):
    con.execute(
        "update core.transfers set status = 'SENT', transfer_reversals = [] where id = ?",
        [transfer_id],
    )
    build_finance(con, AT_END)
    bag = con.execute(
        "select currency, order_id, merchant_id from core.bags where id = ?", [bag_id]
    ).fetchone()
    assert bag is not None
    currency, order_id, merchant_id = bag
    new = found(con) - before
    assert new == Counter(
        [
            (
                "REVERSAL_MISSING", currency, reversed_minor, -reversed_minor, order_id, bag_id,
                merchant_id, transfer_id,
            )
        ]
    )  # fmt: skip
    assert before - found(con) == Counter()


def split_raw(world: World, target: Path, cut: datetime) -> list[str]:
    """The world's raw deliveries as two raw files: received before `cut`, and the rest."""
    table = pa.concat_tables(
        [pq.read_table(world.raw_dir / name) for name in staging_build.raw_files(world.raw_dir)],
        promote_options="default",
    )
    received = table.column("received_at")
    names = []
    for segment, mask in ((0, pc.less(received, cut)), (1, pc.greater_equal(received, cut))):
        name = (
            f"{layout.partition_name(cut.date().isoformat())}/{layout.file_name('split', segment)}"
        )
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(mask), target / name)
        names.append(name)
    return names


def test_a_failed_transfer_sent_later_resolves_on_the_next_run(
    world: World, built: Path, tmp_path: Path
) -> None:
    """Two runs, as the sensor would make them: the first sees the transfer fail, the second
    (after its retry was delivered) sees it sent."""
    with duckdb.connect(str(built), read_only=True) as source:
        retry = source.execute(
            """
            select f.id, s.received_at
            from core.transfers_history as f
            join core.transfers_history as s
                on s.id = f.id and s.valid_from > f.valid_from and s.status = 'SENT'
            where f.status = 'FAILED' and f.received_at < s.received_at
            order by s.received_at - f.received_at desc, f.id
            limit 1
            """
        ).fetchone()
    assert retry is not None, "the world has no failed-then-sent transfer"
    transfer_id, cut = retry
    raw = tmp_path / "raw"
    split_raw(world, raw, cut)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:

        def run(as_of: FinanceSettings) -> list[Row]:
            staging_build.load_staging(con, raw, max_files=1)
            core_build.build_core(con)
            build_finance(con, as_of)
            return con.execute(
                "select exception_id, first_seen_at, resolved_at from finance.exception_log "
                "where kind = 'TRANSFER_FAILED' and transfer_id = ?",
                [transfer_id],
            ).fetchall()

        # Each run looks from its own moment: the first before the retry arrived, the second
        # at the end of the world's span.
        first = run(FinanceSettings(as_of=cut.isoformat()))
        assert len(first) == 1
        exception_id, first_seen, resolved = first[0]
        assert resolved is None
        assert exception_id in {
            r[0] for r in con.execute("select exception_id from finance.exceptions").fetchall()
        }
        second = run(AT_END)
        assert second[0][:2] == (exception_id, first_seen)
        resolved_at = second[0][2]
        assert isinstance(resolved_at, datetime)
        assert isinstance(first_seen, datetime)
        assert resolved_at > first_seen
        assert con.execute(
            "select count(*) from finance.exceptions where exception_id = ?", [exception_id]
        ).fetchone() == (0,)
        # Loaded in two runs, the open queue is exactly the one-go answer.
        assert found(con) == expected(world)


def test_grace_periods_and_as_of_are_settings(con: duckdb.DuckDBPyConnection) -> None:
    def kinds(settings: FinanceSettings) -> Counter[str]:
        build_finance(con, settings)
        return Counter(
            row[0] for row in con.execute("select kind from finance.exceptions").fetchall()
        )

    default = kinds(AT_END)
    assert default["TRANSFER_MISSING"] > 0
    patient = kinds(at_end(WORLD, transfer_grace_days=30, capture_grace_hours=24 * 30))
    assert patient["TRANSFER_MISSING"] == 0
    assert patient["CAPTURE_MISSING"] == 0
    assert patient["TRANSFER_FAILED"] == default["TRANSFER_FAILED"]  # failures have no grace
    # as_of is the clock graces and ages are measured by (the state is the current one): set
    # before the data, nothing is overdue yet and only failures and mismatches are open.
    early = kinds(FinanceSettings(as_of="2026-10-01T00:00:00Z"))
    assert early == Counter({k: n for k, n in default.items() if "MISSING" not in k
                             and k != "UNKNOWN_REFERENCE"})  # fmt: skip
    assert kinds(AT_END) == default


def test_settings_come_from_the_environment() -> None:
    settings = FinanceSettings.from_env(
        {"VIOLET_TRANSFER_GRACE_DAYS": "2", "VIOLET_FINANCE_AS_OF": "2026-11-02"}
    )
    assert settings.transfer_grace_days == 2
    assert parse_as_of(settings.as_of).isoformat() == "2026-11-02T00:00:00+00:00"
    with pytest.raises(ValueError, match="VIOLET_CAPTURE_GRACE_HOURS"):
        FinanceSettings.from_env({"VIOLET_CAPTURE_GRACE_HOURS": "soon"})
    with pytest.raises(ValueError, match="must be a non-negative"):
        FinanceSettings.from_env({"VIOLET_REVERSAL_GRACE_DAYS": "-1"})
    with pytest.raises(ValueError, match="not an ISO-8601"):
        parse_as_of("yesterday")


def _failing(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {i.name for i in INVARIANTS if any(i.counts(con).values())}


def test_money_invariants_hold_and_can_fail(con: duckdb.DuckDBPyConnection) -> None:
    for invariant in INVARIANTS:
        assert not any(invariant.counts(con).values()), invariant.name
    con.execute(
        "update finance.bag_settlements set transferred_minor = transferred_minor + 1 "
        "where bag_id = (select min(bag_id) from finance.bag_settlements)"
    )
    con.execute(
        "update core.orders set total_minor = total_minor + 1 where id = "
        "(select min(order_id) from finance.order_payments where bag_count > 0)"
    )
    build_finance(con, AT_END)
    failing = _failing(con)
    assert "order_total_equals_bag_totals" in failing
    con.execute(
        "update finance.bag_settlements set transferred_minor = transferred_minor + 1 "
        "where bag_id = (select min(bag_id) from finance.bag_settlements)"
    )
    failing = _failing(con)
    assert {"parts_add_up", "balances_are_sums_of_bags"} <= failing
    assert "transfers_single_currency" not in failing
    con.execute(
        "update core.bags set currency = 'XTS' where id = (select min(try_cast(b as bigint)) "
        "from (select unnest(related_bags) as b from core.transfers))"
    )
    failing = _failing(con)
    assert "transfers_single_currency" in failing
    assert "queue_well_formed" not in failing
    con.execute(
        "update finance.exceptions set kind = 'NOT_A_KIND' "
        "where exception_id = (select min(exception_id) from finance.exceptions)"
    )
    assert "queue_well_formed" in _failing(con)


def test_every_kind_is_known_to_the_queue() -> None:
    assert set(KINDS) == set(anomalies.KINDS)


def test_the_finance_notebook_runs_on_a_snapshot(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    con.execute("checkpoint")
    data_dir = tmp_path / "published"
    data_dir.mkdir()
    shutil.copyfile(tmp_path / "warehouse.duckdb", data_dir / "analytics.duckdb")
    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "finance_morning.py"
    done = subprocess.run(
        [sys.executable, str(notebook)],
        env={**os.environ, "VIOLET_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "TRANSFER_MISSING" in done.stdout
    assert "capture_state" in done.stdout


def test_missing_creation_dates_fall_back_to_the_entity_clock(
    world: World, con: duckdb.DuckDBPyConnection
) -> None:
    """date_created is optional in practice: graces then run from date_last_modified."""
    for table in ("orders", "bags", "payment_transactions", "transfers"):
        con.execute(f"update core.{table} set date_created = null")
    build_finance(con, AT_END)
    assert found(con) == expected(world)
    nulls = con.execute(
        "select count(*) from finance.exceptions where opened_at is null or age_days is null"
    ).fetchone()
    assert nulls == (0,)


def test_a_world_with_every_optional_field_gives_the_same_queue_and_settlements(
    tmp_path: Path,
) -> None:
    """The same world sent with Violet's optional and API-only fields (transfer merchant_id,
    transfer_reversals, bags' refunds[] with amounts, related_distribution_ids, refund ids on
    errors) and without them: finance must not depend on any of them."""
    documented = Options(seed=17, orders=500, days=2,
                         anomaly_rates=dict.fromkeys(anomalies.KINDS, 0.01))  # fmt: skip
    results = []
    for name, options in (
        ("documented", documented),
        ("api", replace(documented, api_fields=True)),
    ):
        world = make_world(tmp_path / name, options)
        with duckdb.connect(str(tmp_path / name / "warehouse.duckdb")) as con:
            build(con, world.raw_dir)
            build_finance(con, at_end(options))
            optional = con.execute(
                "select count(*) filter (where merchant_id_source = 'body'), "
                "count(*) filter (where len(transfer_reversals) > 0) from core.transfers"
            ).fetchone()
            refunds = con.execute(
                "select count(*) from core.bags where json_array_length(payload, '$.refunds') > 0"
            ).fetchone()
            results.append(
                (
                    found(con),
                    expected(world),
                    con.execute(
                        "select bag_id, settlement_state, amounts_exact, outstanding_minor "
                        "from finance.bag_settlements order by bag_id"
                    ).fetchall(),
                    optional,
                    refunds,
                )
            )
    (plain, plain_truth, plain_bags, plain_optional, plain_refunds) = results[0]
    (rich, rich_truth, rich_bags, rich_optional, rich_refunds) = results[1]
    assert (plain_optional, plain_refunds) == ((0, 0), (0,)), "the documented world sent extras"
    assert rich_optional is not None
    assert min(rich_optional) > 0, "the api world has no extras"
    assert rich_refunds is not None
    assert rich_refunds[0] > 0
    assert plain == plain_truth == rich == rich_truth
    # Every bag ends in the same state; where its amounts are known by webhook, with the same
    # outstanding money (a partial refund's amount is known only with Refund data).
    assert [b[:2] for b in plain_bags] == [b[:2] for b in rich_bags]
    inexact = {b[0] for b in plain_bags if not b[2]}
    assert inexact, "the world has no partial refund: the test proves less"
    assert [b for b in plain_bags if b[0] not in inexact] == [
        b for b in rich_bags if b[0] not in inexact
    ]
