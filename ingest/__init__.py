"""violet-warehouse ingest: the verified, crash-safe Violet webhook receiver."""
