"""Staging: raw Parquet files not yet in the ledger -> deliveries, events, quarantine."""
