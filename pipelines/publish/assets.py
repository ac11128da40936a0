"""Publish: a complete, read-only-friendly snapshot of the warehouse for analysts."""

import dagster as dg

from pipelines import catalog
from pipelines.core.assets import CURRENT, HISTORY
from pipelines.finance.assets import KEYS as FINANCE
from pipelines.ops.assets import KEYS as OPS
from pipelines.publish import snapshot
from pipelines.resources import POOL, Warehouse
from pipelines.staging.assets import KEYS as STAGING
from pipelines.staging.assets import LEDGER

SNAPSHOT = dg.AssetKey(["publish", "analytics_snapshot"])


@dg.asset(
    key=SNAPSHOT,
    group_name="publish",
    kinds={"duckdb"},
    owners=catalog.owners("publish"),
    tags={"layer": "publish", "domain": catalog.DOMAINS["publish"]},
    deps=[
        *STAGING.values(),
        LEDGER,
        *CURRENT.values(),
        *HISTORY.values(),
        *FINANCE.values(),
        *OPS.values(),
    ],
    pool=POOL,
)
def analytics_snapshot(warehouse: Warehouse) -> dg.MaterializeResult[None]:
    """Atomically replace data/analytics.duckdb with a full copy of the warehouse."""
    size = snapshot.publish(warehouse)
    return dg.MaterializeResult(
        metadata={
            "path": str(warehouse.snapshot),
            "bytes": size,
            "dagster/uri": str(warehouse.snapshot),
        }
    )
