"""Publish: a complete, read-only-friendly snapshot of the warehouse for analysts."""

import dagster as dg

from pipelines import catalog, snapshot
from pipelines.core import CURRENT, HISTORY
from pipelines.finance import KEYS as FINANCE
from pipelines.ops import KEYS as OPS
from pipelines.resources import Warehouse
from pipelines.staging import KEYS as STAGING
from pipelines.staging import LEDGER, POOL

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
