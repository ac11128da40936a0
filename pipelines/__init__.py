"""violet-warehouse pipeline: the Dagster code location (see definitions.py)."""
