-- The definition of core.collections_history: every version of a collection, with validity
-- (valid_from, valid_to, is_current); created when missing, and the tables of warehouses made by
-- earlier versions migrated (idempotent). Its columns are those of the version select,
-- entity_versions in collections_history.sql, in order, then validity (a test holds them equal).
-- Grain and build: collections_history_write.sql.
create table if not exists core.collections_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    last_topic varchar,
    merchant_id bigint,
    external_id varchar,
    name varchar,
    type varchar,
    handle varchar,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.collections_history drop column if exists payload;
