-- The definition of core.offers_history: every version of an offer, with validity (valid_from,
-- valid_to, is_current); created when missing, and the tables of warehouses made by earlier
-- versions migrated (idempotent). Its columns are those of the version select, entity_versions in
-- offers_history.sql, in order, then validity (a test holds them equal). Grain and build:
-- offers_history_write.sql.
create table if not exists core.offers_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    last_topic varchar,
    name varchar,
    merchant_id bigint,
    available boolean,
    visible boolean,
    status varchar,
    min_price_minor bigint,
    max_price_minor bigint,
    currency varchar,
    sku_count ubigint,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.offers_history drop column if exists payload;
