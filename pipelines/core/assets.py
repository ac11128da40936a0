"""Core assets: current state and full history of every Violet entity."""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import _catalog
from pipelines._db import row_counts
from pipelines.core.build import build_core
from pipelines.core.entities import CORE_ENTITIES
from pipelines.resources import POOL, Warehouse
from pipelines.staging.assets import KEYS as STAGING

CURRENT = {t: dg.AssetKey(["core", t]) for t in CORE_ENTITIES}
HISTORY = {t: dg.AssetKey(["core", f"{t}_history"]) for t in CORE_ENTITIES}


@dg.multi_asset(
    specs=[
        _catalog.table_spec(k, deps=[STAGING["events"]])
        for k in [*CURRENT.values(), *HISTORY.values()]
    ],
    pool=POOL,
    can_subset=False,
)
def core_entities(
    context: AssetExecutionContext, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult[None]]:
    """Merge new events into every entity's history; current state = newest version."""
    with warehouse.connection() as con:
        result = build_core(con)
        _catalog.apply(con, ("core",))
        rows = row_counts(con, "core", [*CORE_ENTITIES, *(f"{t}_history" for t in CORE_ENTITIES)])
    context.log.info(f"{result.changed_events} changed events")
    for table in CORE_ENTITIES:
        yield dg.MaterializeResult(
            asset_key=CURRENT[table],
            metadata={"dagster/row_count": rows[table], "versions_in_run": result.versions[table]},
        )
        yield dg.MaterializeResult(
            asset_key=HISTORY[table],
            metadata={
                "dagster/row_count": rows[f"{table}_history"],
                "versions_in_run": result.versions[table],
                "versions_without_id_or_date": result.dropped_versions[table],
            },
        )
