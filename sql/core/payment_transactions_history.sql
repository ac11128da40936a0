-- grain: one row per version of a payment transaction; key: (id, date_last_modified).
-- inputs: argument events (a table or view of staging.events rows, with payload); argument
--   orders (rows of view order_docs: order events with their JSON parsed, see _event_docs.sql);
--   macros violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); payment_transactions_history_write.sql writes core.payment_transactions_history.
-- Sources: the PAYMENT_TRANSACTION_* topics and payment_transactions[] embedded in orders;
-- either way the newest date_last_modified wins. Each JSON document is parsed once.
-- related_refunds: the ids of the refunds against this payment (Violet keeps amount = the
-- captured amount after a refund; the refunded amount is not in the body).
create or replace temp macro entity_versions(events, orders) as table
    with
    own as (
        select
            e.received_at,
            e.event_key,
            null::bigint as order_id_from_order,
            json_transform(e.payload, payment_transaction_shape()) as p,
        from query_table(events) as e
        where e.entity = 'payment_transaction'
    ),

    embedded as (
        select d.received_at, d.event_key, d.entity_id as order_id_from_order,
            unnest(d.o.payment_transactions) as p,
        from query_table(orders) as d
    ),

    sources as (
        select * from own
        union all
        select * from embedded
    )

    select
        violet_minor(p.id) as id,
        violet_ts(p.date_last_modified) as date_last_modified,
        received_at,
        event_key,
        coalesce(violet_minor(p.order_id), order_id_from_order) as order_id,
        p.related_bags,
        p.related_refunds,
        p.payment_provider,
        p.payment_provider_transaction_id,
        violet_minor(p.amount) as amount_minor,
        p.currency,
        p.capture_status,
        p.capture_method,
        p.transfer_status,
        p.transfer_method,
        p.errors,
        violet_ts(p.date_created) as date_created,
    from sources;
