-- grain: one row per version of an order; key: (id, date_last_modified).
-- inputs: argument orders (rows of view order_docs: order events with their JSON parsed, see
--   _event_docs.sql); macros violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); orders_history_write.sql writes core.orders_history.
-- Source: order topics, parsed once per run into temp table order_docs. The loader keeps history
-- and current state (newest date_last_modified wins; ties: latest received, then event key).
-- Money is read as text and must be an integer.
create or replace temp macro entity_versions(events, orders) as table
    select
        d.entity_id as id,
        d.date_last_modified,
        d.received_at,
        d.event_key,
        d.topic as last_topic,
        d.o.app_order_id,
        d.o.app_customer_id,
        d.o.status,
        d.o.channel,
        d.o.currency,
        violet_minor(d.o.sub_total) as sub_total_minor,
        violet_minor(d.o.shipping_total) as shipping_total_minor,
        violet_minor(d.o.tax_total) as tax_total_minor,
        violet_minor(d.o.discount_total) as discount_total_minor,
        violet_minor(d.o.total) as total_minor,
        coalesce(len(d.o.bags), 0) as bag_count,
        violet_ts(d.o.date_created) as date_created,
    from query_table(orders) as d;
