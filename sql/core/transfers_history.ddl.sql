-- The definition of core.transfers_history: every version of a transfer, with validity (valid_from,
-- valid_to, is_current); created when missing, and the tables of warehouses made by earlier
-- versions migrated (idempotent). Its columns are those of the version select, entity_versions in
-- transfers_history.sql, in order, then validity (a test holds them equal). Grain and build:
-- transfers_history_write.sql.
create table if not exists core.transfers_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    last_topic varchar,
    payment_provider_id varchar,
    payout_account_id bigint,
    merchant_id bigint,
    amount_minor bigint,
    currency varchar,
    status varchar,
    payment_provider varchar,
    related_orders varchar[],
    related_bags varchar[],
    related_distributions varchar[],
    transfer_reversals varchar[],
    errors json,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.transfers_history drop column if exists payload;
