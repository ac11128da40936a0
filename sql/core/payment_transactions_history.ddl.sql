-- The definition of core.payment_transactions_history: every version of a payment transaction, with
-- validity (valid_from, valid_to, is_current); created when missing, and the tables of warehouses
-- made by earlier versions migrated (idempotent). Its columns are those of the version select,
-- entity_versions in payment_transactions_history.sql, in order, then validity (a test holds them
-- equal). Grain and build: payment_transactions_history_write.sql.
create table if not exists core.payment_transactions_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    order_id bigint,
    related_bags varchar[],
    related_refunds varchar[],
    payment_provider varchar,
    payment_provider_transaction_id varchar,
    amount_minor bigint,
    currency varchar,
    capture_status varchar,
    capture_method varchar,
    transfer_status varchar,
    transfer_method varchar,
    errors json,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.payment_transactions_history drop column if exists payload;
