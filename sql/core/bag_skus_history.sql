-- grain: one row per version of a bag line (sku line id, the bag's date_last_modified); key:
-- (id, date_last_modified).
-- inputs: argument orders (rows of view order_docs: order events with their JSON parsed, see
--   _event_docs.sql); macros violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); bag_skus_history_write.sql writes core.bag_skus_history.
-- Source: bags[].skus[] of every order version.
create or replace temp macro entity_versions(events, orders) as table
    with
    bags as (
        select d.event_key, d.received_at, d.entity_id as event_order_id, unnest(d.o.bags) as b,
        from query_table(orders) as d
    ),

    lines as (
        select bags.*, unnest(b.skus) as s,
        from bags
    )

    select
        violet_minor(s.id) as id,
        violet_ts(b.date_last_modified) as date_last_modified,
        received_at,
        event_key,
        violet_minor(b.id) as bag_id,
        coalesce(violet_minor(b.order_id), event_order_id) as order_id,
        violet_minor(b.merchant_id) as merchant_id,
        violet_minor(s.sku_id) as sku_id,
        violet_minor(s.offer_id) as offer_id,
        s.name,
        violet_minor(s.quantity) as quantity,
        violet_minor(s.price) as price_minor,
        violet_minor(s.line_price) as line_price_minor,
        b.currency,
    from lines;
