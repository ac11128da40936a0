"""The Dagster code location: the single place where everything is wired together."""

from __future__ import annotations

import dagster as dg

from pipelines.checks import CHECKS
from pipelines.core import core_entities
from pipelines.finance import finance_marts
from pipelines.finance_checks import finance_invariants
from pipelines.jobs import warehouse_job
from pipelines.ops import ops_health
from pipelines.publish import analytics_snapshot
from pipelines.resources import FinanceSettings, Warehouse
from pipelines.schedules import hourly
from pipelines.sensors import raw_files_sensor
from pipelines.staging import staging_load

defs = dg.Definitions(
    assets=[staging_load, core_entities, finance_marts, ops_health, analytics_snapshot],
    asset_checks=[*CHECKS, finance_invariants],
    jobs=[warehouse_job],
    sensors=[raw_files_sensor],
    schedules=[hourly],
    resources={
        "warehouse": Warehouse(data_dir=dg.EnvVar("VIOLET_DATA_DIR")),
        "finance": FinanceSettings.from_env(),
    },
)
