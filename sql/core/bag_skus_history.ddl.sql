-- The definition of core.bag_skus_history: every version of a bag line, with validity (valid_from,
-- valid_to, is_current); created when missing, and the tables of warehouses made by earlier
-- versions migrated (idempotent). Its columns are those of the version select, entity_versions in
-- bag_skus_history.sql, in order, then validity (a test holds them equal). Grain and build:
-- bag_skus_history_write.sql.
create table if not exists core.bag_skus_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    bag_id bigint,
    order_id bigint,
    merchant_id bigint,
    sku_id bigint,
    offer_id bigint,
    name varchar,
    quantity bigint,
    price_minor bigint,
    line_price_minor bigint,
    currency varchar,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.bag_skus_history drop column if exists payload;
