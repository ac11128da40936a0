-- The definition of core.bags_history: every version of a bag, with validity (valid_from, valid_to,
-- is_current); created when missing, and the tables of warehouses made by earlier versions migrated
-- (idempotent). Its columns are those of the version select, entity_versions in bags_history.sql,
-- in order, then validity (a test holds them equal). Grain and build: bags_history_write.sql.
create table if not exists core.bags_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    order_id bigint,
    merchant_id bigint,
    external_id varchar,
    status varchar,
    fulfillment_status varchar,
    financial_status varchar,
    dispute_status varchar,
    currency varchar,
    sub_total_minor bigint,
    shipping_total_minor bigint,
    tax_total_minor bigint,
    discount_total_minor bigint,
    total_minor bigint,
    commission_rate decimal(9, 4),
    sku_count bigint,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.bags_history drop column if exists payload;
