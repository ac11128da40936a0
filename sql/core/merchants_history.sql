-- grain: one row per version of a merchant; key: (id, date_last_modified).
-- inputs: argument events (a table or view of staging.events rows, with payload); macros
--   violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); merchants_history_write.sql writes core.merchants_history.
-- Source: MERCHANT_* topics (not payout-account ones). merchant_name is also spelled name in
-- older payloads.
create or replace temp macro entity_versions(events, orders) as table
    select
        e.entity_id as id,
        e.date_last_modified,
        e.received_at,
        e.event_key,
        e.topic as last_topic,
        coalesce(e.payload ->> '$.merchant_name', e.payload ->> '$.name') as merchant_name,
        e.payload ->> '$.platform' as platform,
        e.payload ->> '$.store_url' as store_url,
        e.payload ->> '$.status' as status,
        e.payload ->> '$.connection_status' as connection_status,
        e.payload ->> '$.default_currency' as default_currency,
        try_cast(e.payload ->> '$.commission_rate' as decimal(9, 4)) as commission_rate,
        violet_ts(e.payload ->> '$.date_created') as date_created,
    from query_table(events) as e
    where e.entity = 'merchant';
