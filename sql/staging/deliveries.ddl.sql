-- The definition of staging.deliveries: created when missing, and the tables of warehouses
-- made by earlier versions migrated (idempotent). Its grain and build: deliveries.sql.
create table if not exists staging.deliveries (
    delivery_id varchar,
    source_event_id varchar,
    topic varchar,
    canonical_topic varchar,
    entity varchar,
    webhook_id varchar,
    order_id varchar,
    bag_id varchar,
    body_sha256 varchar,
    secret_id varchar,
    received_at timestamptz,
    ingest_instance varchar,
    sequence bigint,
    raw_file varchar,
    batch_id bigint,
    event_key varchar,
    dedupe_key varchar,
    delivery_kind varchar,
    entity_id bigint,
    date_last_modified timestamptz,
    quarantine_reason varchar,
    topic_documented boolean,
    quarantine_detail varchar
);

-- Warehouses from before topic_documented: the column, and its value for the rows they hold
-- (each topic's flag in staging.topics; family names and unknown names are not documented).
alter table staging.deliveries add column if not exists topic_documented boolean;
update staging.deliveries as d
set topic_documented = coalesce(
    (select t.documented from staging.topics as t where t.topic = d.topic), false
)
where d.topic_documented is null;

-- Warehouses from before quarantine_detail: NULL in the rows they hold.
alter table staging.deliveries add column if not exists quarantine_detail varchar;

-- The full request headers stay in the raw Parquet (and in staging.quarantine for the
-- deliveries that cannot be modeled); the documented ones are the typed columns above. Stored
-- here they were half of this table (random signatures and ids do not compress): dropped.
alter table staging.deliveries drop column if exists headers;
