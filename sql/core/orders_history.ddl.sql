-- The definition of core.orders_history: every version of an order, with validity (valid_from,
-- valid_to, is_current); created when missing, and the tables of warehouses made by earlier
-- versions migrated (idempotent). Its columns are those of the version select, entity_versions in
-- orders_history.sql, in order, then validity (a test holds them equal). Grain and build:
-- orders_history_write.sql.
create table if not exists core.orders_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    last_topic varchar,
    app_order_id varchar,
    app_customer_id varchar,
    status varchar,
    channel varchar,
    currency varchar,
    sub_total_minor bigint,
    shipping_total_minor bigint,
    tax_total_minor bigint,
    discount_total_minor bigint,
    total_minor bigint,
    bag_count bigint,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.orders_history drop column if exists payload;
