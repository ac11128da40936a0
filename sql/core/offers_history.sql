-- grain: one row per version of an offer; key: (id, date_last_modified).
-- inputs: argument events (a table or view of staging.events rows, with payload); macros
--   violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); offers_history_write.sql writes core.offers_history.
-- Source: OFFER_* topics, each payload parsed once. Ids and money as JSON fragments: an integer
-- or NULL.
create or replace temp macro entity_versions(events, orders) as table
    with
    parsed as (
        select
            e.*,
            json_transform(e.payload, '{
                "name": "VARCHAR", "merchant_id": "JSON", "available": "VARCHAR",
                "visible": "VARCHAR", "status": "VARCHAR", "min_price": "JSON", "max_price": "JSON",
                "currency": "VARCHAR", "skus": "JSON", "date_created": "VARCHAR"
            }') as f,
        from query_table(events) as e
        where e.entity = 'offer'
    )

    select
        entity_id as id,
        date_last_modified,
        received_at,
        event_key,
        topic as last_topic,
        f.name,
        violet_minor(f.merchant_id) as merchant_id,
        try_cast(f.available as boolean) as available,
        try_cast(f.visible as boolean) as visible,
        f.status,
        violet_minor(f.min_price) as min_price_minor,
        violet_minor(f.max_price) as max_price_minor,
        f.currency,
        coalesce(json_array_length(f.skus), 0) as sku_count,
        violet_ts(f.date_created) as date_created,
    from parsed;
