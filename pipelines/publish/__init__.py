"""Publish: the analysts' read-only snapshot, analytics.duckdb."""
