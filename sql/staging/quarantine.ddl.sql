-- The definition of staging.quarantine: created when missing, and the tables of warehouses
-- made by earlier versions migrated (idempotent). Its grain and build: quarantine.sql.
create table if not exists staging.quarantine (
    ingest_instance varchar,
    sequence bigint,
    delivery_id varchar,
    event_key varchar,
    topic varchar,
    received_at timestamptz,
    raw_file varchar,
    batch_id bigint,
    reason varchar,
    body blob,
    headers varchar,
    detail varchar
);

alter table staging.quarantine add column if not exists headers varchar;
alter table staging.quarantine add column if not exists detail varchar;
