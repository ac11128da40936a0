"""Core's asset checks: keys of every current table and one current version without overlap in
every history (blocking: a run whose keys are broken fails and does not publish); status values
Violet does not document (warnings)."""

import dagster as dg
import duckdb

from pipelines._checks import Evaluate, any_run, multi_check
from pipelines.core.assets import CURRENT, HISTORY
from pipelines.core.entities import CORE_ENTITIES
from pipelines.resources import Warehouse

# Documented values (violet-webhooks.md); anything else is kept but reported.
KNOWN_STATUSES: dict[tuple[str, str], tuple[str, ...]] = {
    ("orders", "status"): (
        "IN_PROGRESS", "PROCESSING", "REQUIRES_ACTION", "ACCEPTED", "REJECTED", "COMPLETED",
        "CANCELED", "REFUNDED", "PARTIALLY_REFUNDED",
    ),
    ("bags", "status"): (
        "IN_PROGRESS", "SUBMITTED", "ACCEPTED", "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED",
        "REJECTED", "CANCELED", "BACKORDERED",
    ),
    ("bags", "fulfillment_status"): (
        "PROCESSING", "SHIPPED", "PARTIALLY_SHIPPED", "DELIVERED", "COULD_NOT_DELIVER",
        "RETURNED", "FULFILLED", "PARTIALLY_FULFILLED",
    ),
    ("bags", "financial_status"): (
        "UNPAID", "AUTHORIZED", "PENDING", "PAID", "PARTIALLY_PAID", "REFUNDED",
        "PARTIALLY_REFUNDED", "VOIDED",
    ),
    ("payment_transactions", "capture_status"): (
        "REQUIRES_PAYMENT_METHOD", "REQUIRES_AUTHORIZATION", "REQUIRES_ACTION", "AUTHORIZED",
        "CAPTURED", "REFUNDED", "PARTIALLY_REFUNDED", "FAILED", "BYPASSED",
    ),
    ("transfers", "status"): (
        "PENDING", "SENT", "FAILED", "PARTIALLY_REVERSED", "REVERSED", "BYPASSED", "SUCCESS",
    ),
    ("offers", "status"): (
        "AVAILABLE", "UNAVAILABLE", "DISABLED_AVAILABLE", "DISABLED_UNAVAILABLE", "ARCHIVED",
    ),
    ("merchants", "connection_status"): ("NOT_CONNECTED", "CONNECTED", "REQUESTED", "DECLINED"),
}  # fmt: skip


def _keys(table: str) -> tuple[dg.AssetCheckSpec, Evaluate]:
    spec = dg.AssetCheckSpec(
        "id_unique_not_null",
        asset=CURRENT[table],
        blocking=True,
        description=f"core.{table}: id is never null and appears once; every row has its payload.",
    )

    def evaluate(con: duckdb.DuckDBPyConnection, _: Warehouse) -> dg.AssetCheckResult:
        nulls, dupes, no_payload = con.execute(
            # count(*) - count(payload), not a filter: DuckDB answers it from the column's
            # validity without reading the JSON (about a hundred times faster: bench/RESULTS.md).
            f"select count(*) - count(id), count(id) - count(distinct id), "  # noqa: S608
            f"count(*) - count(payload) from core.{table}"
        ).fetchone() or (0, 0, 0)
        return dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=nulls == 0 and dupes == 0 and no_payload == 0,
            metadata={
                "null_ids": int(nulls),
                "duplicate_ids": int(dupes),
                "rows_without_payload": int(no_payload),
            },
        )

    return spec, evaluate


def _history(table: str) -> tuple[dg.AssetCheckSpec, Evaluate]:
    spec = dg.AssetCheckSpec(
        "one_current_version_no_overlap",
        asset=HISTORY[table],
        blocking=True,
        description=(
            f"core.{table}_history: exactly one current row per id, validity windows that do "
            f"not overlap, and the current rows are core.{table}."
        ),
    )

    def evaluate(con: duckdb.DuckDBPyConnection, _: Warehouse) -> dg.AssetCheckResult:
        bad_current, overlaps, mismatch = con.execute(
            f"""
            select
                (select count(*) from (
                    select id from core.{table}_history group by id
                    having count_if(is_current) <> 1)),
                (select count(*) from (
                    select valid_from, valid_to,
                        lead(valid_from) over (partition by id order by valid_from) as nxt
                    from core.{table}_history)
                 where (valid_to is not null and valid_to <= valid_from)
                    or (nxt is not null and (valid_to is null or valid_to > nxt))),
                (select count(*) from (
                    select id, date_last_modified from core.{table}_history where is_current
                    except
                    select id, date_last_modified from core.{table}))
            """  # noqa: S608 - table names come from CORE_ENTITIES
        ).fetchone() or (0, 0, 0)
        return dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=bad_current == 0 and overlaps == 0 and mismatch == 0,
            metadata={
                "ids_without_exactly_one_current": int(bad_current),
                "overlapping_windows": int(overlaps),
                "current_rows_not_in_current_table": int(mismatch),
            },
        )

    return spec, evaluate


def _status(table: str, column: str, known: tuple[str, ...]) -> tuple[dg.AssetCheckSpec, Evaluate]:
    spec = dg.AssetCheckSpec(
        f"known_{column}_values",
        asset=CURRENT[table],
        description=f"core.{table}.{column}: documented values (others are kept, and warned).",
    )

    def evaluate(con: duckdb.DuckDBPyConnection, _: Warehouse) -> dg.AssetCheckResult:
        rows = con.execute(
            f"select {column}, count(*) from core.{table} "  # noqa: S608
            f"where {column} is not null and {column} not in (select unnest(?)) "
            "group by 1 order by 2 desc",
            [list(known)],
        ).fetchall()
        return dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"unknown_values": dg.MetadataValue.json({str(v): int(n) for v, n in rows})},
        )

    return spec, evaluate


CORE_CHECKS = [
    *(_keys(t) for t in CORE_ENTITIES),
    *(_history(t) for t in CORE_ENTITIES),
    *(_status(t, c, known) for (t, c), known in KNOWN_STATUSES.items()),
]
core_integrity = multi_check(
    "core_integrity",
    "Blocking: keys of every core table, one current version and no overlap in every history;"
    " warnings for status values Violet does not document.",
    [(spec, any_run(evaluate)) for spec, evaluate in CORE_CHECKS],
)
