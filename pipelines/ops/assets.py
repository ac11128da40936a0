"""Ops assets: pipeline health for the people who run it."""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import _catalog, catalog
from pipelines._db import row_counts
from pipelines.ops.build import build_ops
from pipelines.resources import POOL, Warehouse
from pipelines.staging.assets import KEYS as STAGING

KEYS = {t: dg.AssetKey(["ops", t]) for t in ("event_counts", "delivery_lag", "topics")}


@dg.multi_asset(
    specs=[
        _catalog.table_spec(key, deps=catalog.deps(key, STAGING.values())) for key in KEYS.values()
    ],
    pool=POOL,
    can_subset=False,
)
def ops_health(
    context: AssetExecutionContext, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult[None]]:
    """Event counts and delivery lag per topic and day, for the days new deliveries touched;
    topics seen, from the new deliveries."""
    with warehouse.connection() as con:
        days = build_ops(con)
        _catalog.apply(con, ("ops",))
        rows = row_counts(con, "ops", KEYS)
        totals = con.execute(
            "select coalesce(sum(deliveries), 0), coalesce(sum(unique_events), 0), "
            "coalesce(sum(retries), 0), coalesce(sum(resends), 0), "
            "coalesce(sum(quarantined), 0) from ops.event_counts"
        ).fetchone()
        undocumented = con.execute(
            "select topic from ops.topics where not documented order by topic"
        ).fetchall()
    context.log.info(f"recomputed {days} days")
    deliveries, unique, retries, resends, quarantined = totals or (0, 0, 0, 0, 0)
    yield dg.MaterializeResult(
        asset_key=KEYS["event_counts"],
        metadata={
            "dagster/row_count": rows["event_counts"],
            "deliveries": int(deliveries),
            "unique_events": int(unique),
            "retries": int(retries),
            "resends": int(resends),
            "quarantined": int(quarantined),
        },
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["delivery_lag"], metadata={"dagster/row_count": rows["delivery_lag"]}
    )
    yield dg.MaterializeResult(
        asset_key=KEYS["topics"],
        metadata={
            "dagster/row_count": rows["topics"],
            "undocumented_topics": dg.MetadataValue.json([t for (t,) in undocumented]),
        },
    )
