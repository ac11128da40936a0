"""Money invariants of the finance marts, as asset checks.

Blocking (a failure stops the snapshot: the marts themselves would be wrong): every settlement
row's parts add up, balances equal the sum of their bags, money columns are integers, the
exceptions queue is well formed. Not blocking but failing loudly (ERROR): invariants of the
data Violet sent (order total = sum of its bag totals; no currency mixing inside an order or a
transfer; no non-integer money in payloads), which finance must see but which must not hide the
rest of the warehouse.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import duckdb

from pipelines import _sql as sql
from pipelines.finance.assets import KEYS
from pipelines.finance.build import KINDS
from pipelines.resources import Warehouse


@dataclass(frozen=True)
class Invariant:
    """A money invariant: its query, sql/finance/checks/<name>.sql, returns one row of counts,
    each the number of rows breaking one rule (all 0: the check passes)."""

    name: str
    mart: str  # the asset it is a check of (finance.<mart>)
    description: str
    blocking: bool = False  # a failure stops the snapshot (the marts themselves would be wrong)
    params: tuple[object, ...] = ()

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            self.name,
            asset=KEYS[self.mart],
            blocking=self.blocking,
            description=self.description,
        )

    def counts(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        cursor = con.execute(sql.text("finance/checks", self.name), list(self.params))
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description or []]
        return {name: int(value or 0) for name, value in zip(names, row or [], strict=False)}


INVARIANTS = (
    Invariant(
        "parts_add_up",
        "bag_settlements",
        "Every bag: expected = sub_total + tax + shipping - discount - commission; outstanding = "
        "due - (transferred - reversed); 0 <= commission <= sub_total; SETTLED means nothing "
        "outstanding.",
        blocking=True,
    ),
    Invariant(
        "balances_are_sums_of_bags",
        "merchant_balances",
        "Each merchant+currency balance is the sum of its bags (one currency per row, never "
        "mixed); outstanding = expected - (transferred - reversed).",
        blocking=True,
    ),
    Invariant(
        "money_is_integer_minor_units",
        "bag_settlements",
        "Every *_minor column of the finance schema has an integer type.",
        blocking=True,
    ),
    Invariant(
        "queue_well_formed",
        "exceptions",
        "Unique exception ids, known kinds, a currency, a non-negative amount, a detail and a "
        "first_seen_at on every open exception.",
        blocking=True,
        params=(list(KINDS),),
    ),
    Invariant(
        "order_total_equals_bag_totals",
        "order_payments",
        "Violet's data: every order's total equals the sum of its bags' totals, and its bags and "
        "payments are in the order's currency.",
    ),
    Invariant(
        "transfers_single_currency",
        "bag_settlements",
        "Violet's data: a transfer covers bags in its own currency only.",
    ),
    Invariant(
        "source_money_is_integer",
        "order_payments",
        "Violet's data: order, bag, payment and transfer amounts are integer minor units (a "
        "non-integer amount is kept as NULL, never rounded).",
    ),
)


@dg.multi_asset_check(
    specs=[invariant.spec for invariant in INVARIANTS],
    name="finance_invariants",
    description="Money invariants of the finance marts and of the money data they read.",
    can_subset=False,
)
def finance_invariants(warehouse: Warehouse) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connection() as con:
        for invariant in INVARIANTS:
            counts = invariant.counts(con)
            yield dg.AssetCheckResult(
                asset_key=invariant.spec.asset_key,
                check_name=invariant.name,
                passed=not any(counts.values()),
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=dict(counts),
            )
