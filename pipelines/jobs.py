"""The one job: every asset, incrementally, in process (one step at a time on the warehouse)."""

from __future__ import annotations

import dagster as dg

warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load new raw files, update staging, core and ops, then publish the snapshot.",
)
