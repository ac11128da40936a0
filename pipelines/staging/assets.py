"""Staging assets: raw Parquet files not yet in the ledger -> deliveries, events, quarantine."""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import _catalog
from pipelines._db import row_counts, scalar
from pipelines.publish import snapshot
from pipelines.resources import POOL, Warehouse
from pipelines.staging.build import load_all

STAGING_TABLES = ("deliveries", "events", "quarantine")
KEYS = {t: dg.AssetKey(["staging", t]) for t in STAGING_TABLES}
LEDGER = dg.AssetKey(["ops", "loaded_files"])


@dg.multi_asset(
    specs=[_catalog.table_spec(k) for k in [*KEYS.values(), LEDGER]],
    pool=POOL,
    can_subset=False,
)
def staging_load(
    context: AssetExecutionContext, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult[None]]:
    """Load raw files missing from ops.loaded_files into staging (one transaction)."""
    # The snapshots the last publishes replaced are deleted meanwhile (publish/snapshot.py).
    snapshot.reap_in_background(warehouse)
    with warehouse.connection() as con:
        batches = load_all(
            con,
            warehouse.raw_dir,
            context.run.run_id,
            warehouse.load_batch_bytes,
            warehouse.future_tolerance,
        )
        _catalog.apply(con, ("staging", "ops"))
        counts = row_counts(con, "staging", STAGING_TABLES)
        files = scalar(con, "select count(*) from ops.loaded_files")
        by_reason = con.execute(
            "select reason, count(*) from staging.quarantine group by 1 order by 2 desc"
        ).fetchall()
    loaded = {
        "batches": len(batches),
        "files_loaded": sum(b.files for b in batches),
        "deliveries_loaded": sum(b.deliveries for b in batches),
        "quarantined_loaded": sum(b.quarantined for b in batches),
    }
    context.log.info(f"loaded {loaded}")
    yield dg.MaterializeResult(
        asset_key=KEYS["deliveries"], metadata={"dagster/row_count": counts["deliveries"], **loaded}
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["events"],
        metadata={
            "dagster/row_count": counts["events"],
            "events_touched": sum(b.events_touched for b in batches),
        },
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["quarantine"],
        metadata={
            "dagster/row_count": counts["quarantine"],
            "by_reason": dg.MetadataValue.md(
                "| reason | deliveries |\n|---|---|\n"
                + "".join(f"| {r} | {n} |\n" for r, n in by_reason)
            ),
        },
    )
    yield dg.MaterializeResult(asset_key=LEDGER, metadata={"dagster/row_count": files})
