"""The Dagster code location: the single place where everything is wired together."""

from __future__ import annotations

import dagster as dg

from pipelines.core.assets import core_entities
from pipelines.core.checks import core_integrity
from pipelines.finance.assets import finance_marts
from pipelines.finance.checks import finance_invariants
from pipelines.jobs import warehouse_job
from pipelines.ops.assets import ops_health
from pipelines.publish.assets import analytics_snapshot
from pipelines.resources import FinanceSettings, Warehouse
from pipelines.schedules import hourly
from pipelines.sensors import raw_files_sensor
from pipelines.staging.assets import staging_load
from pipelines.staging.checks import staging_health

defs = dg.Definitions(
    assets=[staging_load, core_entities, finance_marts, ops_health, analytics_snapshot],
    asset_checks=[staging_health, core_integrity, finance_invariants],
    jobs=[warehouse_job],
    sensors=[raw_files_sensor],
    schedules=[hourly],
    resources={
        "warehouse": Warehouse(data_dir=dg.EnvVar("VIOLET_DATA_DIR")),
        "finance": FinanceSettings.from_env(),
    },
)
