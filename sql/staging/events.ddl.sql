-- The definition of staging.events: created when missing, and the tables of warehouses
-- made by earlier versions migrated (idempotent). Its grain and build: events.sql.
-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the column option
-- `using compression`, so this statement is not linted.
-- noqa: disable=PRS
create table if not exists staging.events (
    event_key varchar,
    delivery_id varchar,
    topic varchar,
    entity varchar,
    entity_id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    ingest_instance varchar,
    sequence bigint,
    payload json using compression zstd,
    quarantine_reason varchar,
    n_deliveries bigint,
    n_retries bigint,
    n_resends bigint,
    last_received_at timestamptz,
    batch_id bigint
);
-- noqa: enable=PRS
