"""Finance assets: reconciliation marts and the exceptions queue, with exports and a summary a
person reads in the Dagster UI."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import _catalog, catalog
from pipelines._db import row_counts
from pipelines.core.assets import CURRENT, HISTORY
from pipelines.finance import reports, summary_html
from pipelines.finance.build import MARTS, build_finance
from pipelines.finance.desk import store as desk
from pipelines.resources import POOL, FinanceSettings, Warehouse

KEYS = {t: dg.AssetKey(["finance", t]) for t in MARTS}


@dg.multi_asset(
    # Each mart depends on the tables its SQL reads (lineage.py), not on all of core.
    specs=[
        _catalog.table_spec(
            key, deps=catalog.deps(key, [*CURRENT.values(), *HISTORY.values(), *KEYS.values()])
        )
        for key in KEYS.values()
    ],
    pool=POOL,
    can_subset=False,
)
def finance_marts(
    context: AssetExecutionContext, warehouse: Warehouse, finance: FinanceSettings
) -> Iterator[dg.MaterializeResult[None]]:
    """Recompute order payments, bag settlements and merchant balances at as_of, update the
    exception log, and export the open queue, settlements and balances for finance."""
    # Dagster wants a multi-asset's results in the order of the dependencies among them.
    yield from catalog.in_dependency_order(_build(context, warehouse, finance), KEYS.values())


def _build(
    context: AssetExecutionContext, warehouse: Warehouse, finance: FinanceSettings
) -> Iterator[dg.MaterializeResult[None]]:
    with warehouse.connection() as con:
        result = build_finance(con, finance, desk.path(warehouse.root))
        _catalog.apply(con, ("finance",))
        rows = row_counts(con, "finance", MARTS)
        summary = reports.summarize(con)
        merchants = con.execute(
            "select count(*) filter (where outstanding_minor <> 0), "
            "count(*) filter (where not can_receive_payouts) from finance.merchant_balances"
        ).fetchone() or (0, 0)
        files = reports.export(con, warehouse.reports_dir, result.as_of, summary)
        files.append(summary_html.write(con, warehouse.reports_dir, result.as_of))
    as_of = result.as_of.isoformat()
    report_dir = str(files[0].parent) if files else ""
    context.log.info(
        f"finance as of {as_of}: {result.open} open exceptions "
        f"({result.opened} new, {result.resolved} resolved); reports in {report_dir}"
    )
    common: dict[str, dg.MetadataValue[Any]] = {
        "as_of": dg.MetadataValue.text(as_of),
        "reports": dg.MetadataValue.path(report_dir),
    }
    yield dg.MaterializeResult(
        asset_key=KEYS["exceptions"],
        metadata={
            **common,
            "dagster/row_count": rows["exceptions"],
            "new_in_run": result.opened,
            "resolved_in_run": result.resolved,
            "open_by_kind": dg.MetadataValue.md(summary.exceptions),
        },
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["exception_log"],
        metadata={
            **common,
            "dagster/row_count": rows["exception_log"],
            "resolved": rows["exception_log"] - rows["exceptions"],
        },
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["exception_actions"],
        metadata={**common, "dagster/row_count": rows["exception_actions"]},
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["order_payments"],
        metadata={
            **common,
            "dagster/row_count": rows["order_payments"],
            "totals_by_currency": dg.MetadataValue.md(summary.money),
        },
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["bag_settlements"],
        metadata={
            **common,
            "dagster/row_count": rows["bag_settlements"],
            "by_state": dg.MetadataValue.md(summary.settlements),
            "totals_by_currency": dg.MetadataValue.md(summary.money),
        },
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["merchant_balances"],
        metadata={
            **common,
            "dagster/row_count": rows["merchant_balances"],
            "with_outstanding_balance": int(merchants[0]),
            "cannot_receive_payouts": int(merchants[1]),
        },
    )
