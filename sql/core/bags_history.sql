-- grain: one row per version of a bag; key: (id, date_last_modified).
-- inputs: argument orders (rows of view order_docs: order events with their JSON parsed, see
--   _event_docs.sql); macros violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); bags_history_write.sql writes core.bags_history.
-- Source: the bags[] of every order version; a bag's version is its own date_last_modified.
-- merchant_name is not a documented bag field: core.bags takes it from core.merchants
-- (_derived.sql).
create or replace temp macro entity_versions(events, orders) as table
    with
    bags as (
        select d.event_key, d.received_at, d.entity_id as event_order_id, unnest(d.o.bags) as b,
        from query_table(orders) as d
    )

    select
        violet_minor(b.id) as id,
        violet_ts(b.date_last_modified) as date_last_modified,
        received_at,
        event_key,
        coalesce(violet_minor(b.order_id), event_order_id) as order_id,
        violet_minor(b.merchant_id) as merchant_id,
        b.external_id,
        b.status,
        b.fulfillment_status,
        b.financial_status,
        b.dispute_status,
        b.currency,
        violet_minor(b.sub_total) as sub_total_minor,
        violet_minor(b.shipping_total) as shipping_total_minor,
        violet_minor(b.tax_total) as tax_total_minor,
        violet_minor(b.discount_total) as discount_total_minor,
        violet_minor(b.total) as total_minor,
        try_cast(b.commission_rate as decimal(9, 4)) as commission_rate,
        coalesce(len(b.skus), 0) as sku_count,
        violet_ts(b.date_created) as date_created,
    from bags;
