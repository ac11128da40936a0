-- The definition of core.payout_accounts_history: every version of a payout account, with validity
-- (valid_from, valid_to, is_current); created when missing, and the tables of warehouses made by
-- earlier versions migrated (idempotent). Its columns are those of the version select,
-- entity_versions in payout_accounts_history.sql, in order, then validity (a test holds them
-- equal). Grain and build: payout_accounts_history_write.sql.
create table if not exists core.payout_accounts_history (
    id bigint,
    date_last_modified timestamptz,
    received_at timestamptz,
    event_key varchar,
    last_topic varchar,
    merchant_id bigint,
    is_active boolean,
    country_code varchar,
    payment_provider varchar,
    payment_provider_account_id varchar,
    account_type varchar,
    charges_enabled boolean,
    payouts_enabled boolean,
    currently_due varchar[],
    past_due varchar[],
    errors json,
    date_created timestamptz,
    valid_from timestamptz,
    valid_to timestamptz,
    is_current boolean
);

-- Histories of warehouses built before the history lost its payload column (a version's JSON
-- is staging.events.payload, by event_key).
alter table core.payout_accounts_history drop column if exists payload;
