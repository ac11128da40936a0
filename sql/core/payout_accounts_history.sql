-- grain: one row per version of a payout account; key: (id, date_last_modified).
-- inputs: argument events (a table or view of staging.events rows, with payload); macros
--   violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); payout_accounts_history_write.sql writes core.payout_accounts_history.
-- Source: MERCHANT_PAYOUT_ACCOUNT_* topics. can_receive says whether money sent now would
-- arrive.
create or replace temp macro entity_versions(events, orders) as table
    select
        e.entity_id as id,
        e.date_last_modified,
        e.received_at,
        e.event_key,
        e.topic as last_topic,
        violet_int(e.payload, '$.merchant_id') as merchant_id,
        try_cast(e.payload ->> '$.is_active' as boolean) as is_active,
        e.payload ->> '$.country_code' as country_code,
        e.payload ->> '$.payment_provider' as payment_provider,
        e.payload ->> '$.payment_provider_account_id' as payment_provider_account_id,
        e.payload ->> '$.payment_provider_account.account_type' as account_type,
        try_cast(
            e.payload ->> '$.payment_provider_account.charges_enabled' as boolean
        ) as charges_enabled,
        try_cast(
            e.payload ->> '$.payment_provider_account.payouts_enabled' as boolean
        ) as payouts_enabled,
        try_cast(
            e.payload -> '$.payment_provider_account.requirements.currently_due' as varchar[]
        ) as currently_due,
        try_cast(
            e.payload -> '$.payment_provider_account.requirements.past_due' as varchar[]
        ) as past_due,
        e.payload -> '$.errors' as errors,
        violet_ts(e.payload ->> '$.date_created') as date_created,
    from query_table(events) as e
    where e.entity = 'payout_account';
