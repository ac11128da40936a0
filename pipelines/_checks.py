"""What the checks of every domain share: their evaluate functions' types, Markdown tables for
their metadata, and many checks evaluated in one step on one connection."""

from collections.abc import Callable, Iterator

import dagster as dg
import duckdb

from pipelines.resources import Warehouse

Evaluate = Callable[[duckdb.DuckDBPyConnection, Warehouse], dg.AssetCheckResult]
# A check that also needs the run evaluating it (which staging loads are "this run's").
RunEvaluate = Callable[[duckdb.DuckDBPyConnection, Warehouse, str], dg.AssetCheckResult]


def md_table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines) + "\n")


def any_run(evaluate: Evaluate) -> RunEvaluate:
    """A check whose answer does not depend on the run evaluating it."""

    def run_evaluate(
        con: duckdb.DuckDBPyConnection, warehouse: Warehouse, _: str
    ) -> dg.AssetCheckResult:
        return evaluate(con, warehouse)

    return run_evaluate


def multi_check(
    name: str, description: str, checks: list[tuple[dg.AssetCheckSpec, RunEvaluate]]
) -> dg.AssetChecksDefinition:
    """Many checks evaluated in one step on one connection (a step per check cost more than
    the queries themselves)."""

    @dg.multi_asset_check(
        specs=[spec for spec, _ in checks], name=name, description=description, can_subset=False
    )
    def run(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> Iterator[dg.AssetCheckResult]:
        with warehouse.connection() as con:
            for _, evaluate in checks:
                yield evaluate(con, warehouse, context.run.run_id)

    return run
