"""An hourly run: refreshes time-dependent answers even when no new file arrived."""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import warehouse_job

hourly = dg.ScheduleDefinition(
    name="hourly_warehouse",
    job=warehouse_job,
    cron_schedule="7 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: the whole warehouse job (loads anything the sensor has not).",
)
