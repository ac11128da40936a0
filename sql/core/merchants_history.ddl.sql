-- The definition of core.merchants_history: every version of a merchant, with validity (valid_from,
-- valid_to, is_current); created when missing, and the tables of warehouses made by earlier
-- versions migrated (idempotent). Its columns are those of the version select, entity_versions in
-- merchants_history.sql, in order, then validity (a test holds them equal). Grain and build:
-- merchants_history_write.sql.
create table if not exists core.merchants_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    last_topic varchar,
    merchant_name varchar,
    platform varchar,
    store_url varchar,
    status varchar,
    connection_status varchar,
    default_currency varchar,
    commission_rate decimal(9, 4),
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.merchants_history drop column if exists payload;
