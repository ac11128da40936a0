"""Money invariants of the finance marts, as asset checks.

Blocking (a failure stops the snapshot: the marts themselves would be wrong): every settlement
row's parts add up, balances equal the sum of their bags, money columns are integers, the
exceptions queue is well formed. Not blocking but failing loudly (ERROR): invariants of the
data Violet sent (order total = sum of its bag totals; no currency mixing inside an order or a
transfer; no non-integer money in payloads), which finance must see but which must not hide the
rest of the warehouse.
"""

from collections.abc import Callable, Iterator

import dagster as dg
import duckdb

from pipelines.finance.assets import KEYS
from pipelines.finance.build import KINDS
from pipelines.resources import Warehouse

Evaluate = Callable[[duckdb.DuckDBPyConnection], dict[str, int]]


def _counts(
    con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None
) -> dict[str, int]:
    cursor = con.execute(query, params or [])
    row = cursor.fetchone()
    names = [d[0] for d in cursor.description or []]
    return {name: int(value or 0) for name, value in zip(names, row or [], strict=False)}


def _parts_add_up(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _counts(
        con,
        """
        select
            count(*) filter (where expected_minor <> sub_total_minor + tax_total_minor
                + shipping_total_minor - discount_total_minor - commission_minor)
                as expected_not_sum_of_parts,
            count(*) filter (where outstanding_minor
                <> due_minor - (transferred_minor - reversed_minor)) as outstanding_not_sum,
            count(*) filter (where commission_rate between 0 and 100
                and (commission_minor < 0 or commission_minor > sub_total_minor))
                as commission_out_of_range,
            count(*) filter (where settlement_state = 'SETTLED' and outstanding_minor <> 0)
                as settled_with_outstanding
        from finance.bag_settlements
        """,
    )


def _balances_add_up(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _counts(
        con,
        """
        with b as (
            select merchant_id, currency, sum(due_minor) as expected,
                sum(transferred_minor) as transferred, sum(reversed_minor) as reversed
            from finance.bag_settlements where merchant_id is not null group by all
        )
        select
            count(*) filter (where m.expected_minor is distinct from coalesce(b.expected, 0)
                or m.transferred_minor is distinct from coalesce(b.transferred, 0)
                or m.reversed_minor is distinct from coalesce(b.reversed, 0))
                as balances_not_sum_of_bags,
            count(*) filter (where m.outstanding_minor
                <> m.expected_minor - (m.transferred_minor - m.reversed_minor))
                as outstanding_not_sum,
            (select count(*) - count(distinct (merchant_id, currency))
                from finance.merchant_balances) as duplicate_rows
        from finance.merchant_balances as m
        left join b using (merchant_id, currency)
        """,
    )


def _money_is_integer(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _counts(
        con,
        """
        select count(*) as money_columns_not_integer
        from duckdb_columns()
        where schema_name = 'finance' and column_name like '%\\_minor' escape '\\'
            and data_type not in ('BIGINT', 'INTEGER')
        """,
    )


def _exceptions_well_formed(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _counts(
        con,
        """
        select
            count(*) - count(distinct exception_id) as duplicate_ids,
            count(*) filter (where kind not in (select unnest(?))) as unknown_kinds,
            count(*) filter (where amount_minor is null or amount_minor < 0) as bad_amounts,
            count(*) filter (where currency is null) as without_currency,
            count(*) filter (where detail is null or detail = '') as without_detail,
            count(*) filter (where first_seen_at is null) as without_first_seen
        from finance.exceptions
        """,
        [list(KINDS)],
    )


def _order_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _counts(
        con,
        """
        select
            count(*) filter (where bag_count > 0 and order_total_minor <> bag_total_minor)
                as orders_total_not_sum_of_bags,
            count(*) filter (where currency_mixed) as orders_mixing_currencies
        from finance.order_payments
        """,
    )


def _source_currencies(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _counts(
        con,
        """
        with covered as (
            select id, currency, try_cast(unnest(related_bags) as bigint) as bag_id
            from core.transfers
        )
        select count(distinct c.id) as transfers_mixing_currencies
        from covered as c
        join core.bags as b on b.id = c.bag_id
        where b.currency is distinct from c.currency
        """,
    )


def _source_money(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    # A money field present in the payload but not an integer is NULL in core (never rounded).
    return _counts(
        con,
        """
        select
            (select count(*) from core.orders
                where total_minor is null and json_type(payload, '$.total') not in ('NULL'))
                as orders_total_not_integer,
            (select count(*) from core.bags
                where (sub_total_minor is null
                        and json_type(payload, '$.sub_total') not in ('NULL'))
                   or (total_minor is null and json_type(payload, '$.total') not in ('NULL')))
                as bags_amount_not_integer,
            (select count(*) from core.payment_transactions
                where amount_minor is null and json_type(payload, '$.amount') not in ('NULL'))
                as payments_amount_not_integer,
            (select count(*) from core.transfers
                where amount_minor is null and json_type(payload, '$.amount') not in ('NULL'))
                as transfers_amount_not_integer
        """,
    )


CHECKS: list[tuple[dg.AssetCheckSpec, Evaluate, dg.AssetCheckSeverity]] = [
    (
        dg.AssetCheckSpec(
            "parts_add_up",
            asset=KEYS["bag_settlements"],
            blocking=True,
            description="Every bag: expected = sub_total + tax + shipping - discount - "
            "commission; outstanding = due - (transferred - reversed); 0 <= commission <= "
            "sub_total; SETTLED means nothing outstanding.",
        ),
        _parts_add_up,
        dg.AssetCheckSeverity.ERROR,
    ),
    (
        dg.AssetCheckSpec(
            "balances_are_sums_of_bags",
            asset=KEYS["merchant_balances"],
            blocking=True,
            description="Each merchant+currency balance is the sum of its bags (one currency "
            "per row, never mixed); outstanding = expected - (transferred - reversed).",
        ),
        _balances_add_up,
        dg.AssetCheckSeverity.ERROR,
    ),
    (
        dg.AssetCheckSpec(
            "money_is_integer_minor_units",
            asset=KEYS["bag_settlements"],
            blocking=True,
            description="Every *_minor column of the finance schema has an integer type.",
        ),
        _money_is_integer,
        dg.AssetCheckSeverity.ERROR,
    ),
    (
        dg.AssetCheckSpec(
            "queue_well_formed",
            asset=KEYS["exceptions"],
            blocking=True,
            description="Unique exception ids, known kinds, a currency, a non-negative amount, "
            "a detail and a first_seen_at on every open exception.",
        ),
        _exceptions_well_formed,
        dg.AssetCheckSeverity.ERROR,
    ),
    (
        dg.AssetCheckSpec(
            "order_total_equals_bag_totals",
            asset=KEYS["order_payments"],
            description="Violet's data: every order's total equals the sum of its bags' totals,"
            " and its bags and payments are in the order's currency.",
        ),
        _order_totals,
        dg.AssetCheckSeverity.ERROR,
    ),
    (
        dg.AssetCheckSpec(
            "transfers_single_currency",
            asset=KEYS["bag_settlements"],
            description="Violet's data: a transfer covers bags in its own currency only.",
        ),
        _source_currencies,
        dg.AssetCheckSeverity.ERROR,
    ),
    (
        dg.AssetCheckSpec(
            "source_money_is_integer",
            asset=KEYS["order_payments"],
            description="Violet's data: order, bag, payment and transfer amounts are integer "
            "minor units (a non-integer amount is kept as NULL, never rounded).",
        ),
        _source_money,
        dg.AssetCheckSeverity.ERROR,
    ),
]


@dg.multi_asset_check(
    specs=[spec for spec, _, _ in CHECKS],
    name="finance_invariants",
    description="Money invariants of the finance marts and of the money data they read.",
    can_subset=False,
)
def finance_invariants(warehouse: Warehouse) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connection() as con:
        for spec, evaluate, severity in CHECKS:
            counts = evaluate(con)
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key,
                check_name=spec.name,
                passed=not any(counts.values()),
                severity=severity,
                metadata=dict(counts),
            )
