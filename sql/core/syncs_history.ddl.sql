-- The definition of core.syncs_history: every version of a sync, with validity (valid_from,
-- valid_to, is_current); created when missing, and the tables of warehouses made by earlier
-- versions migrated (idempotent). Its columns are those of the version select, entity_versions in
-- syncs_history.sql, in order, then validity (a test holds them equal). Grain and build:
-- syncs_history_write.sql.
create table if not exists core.syncs_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    last_topic varchar,
    sync_type varchar,
    merchant_id bigint,
    status varchar,
    total_products bigint,
    total_collections bigint,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.syncs_history drop column if exists payload;
