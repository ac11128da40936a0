"""Developer tools outside the Dagster code location: the end-to-end demo (`make demo`)."""
