"""Files the ingest service and the pipeline share: where raw Parquet lives and how it is named
(`layout`), and the steps that make a file change survive a crash (`durable`)."""
