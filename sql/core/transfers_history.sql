-- grain: one row per version of a transfer; key: (id, date_last_modified).
-- inputs: argument events (a table or view of staging.events rows, with payload); macros
--   violet_minor/violet_ts (sql/macros.sql).
-- outputs: table macro entity_versions(events, orders), the version select that
--   _history_merge.sql calls (on the changed, the picked and, when rederiving, all source
--   events); transfers_history_write.sql writes core.transfers_history.
-- Source: TRANSFER_* topics, each payload parsed once. payment_provider_id is also spelled
-- payment_provider_transfer_id: both are read. Ids and money as JSON fragments: an integer or
-- NULL (a string is not money). The bags and orders a transfer covers arrive as related_bags /
-- related_orders (webhook samples) or under the newer API names related_bag_ids /
-- related_order_ids, as strings or integers: either name, either type, read as text. merchant_id
-- here is the body's (optional: Violet's webhook samples have none); core.transfers.merchant_id
-- is derived (_derived.sql).
create or replace temp macro entity_versions(events, orders) as table
    with
    parsed as (
        select
            e.*,
            json_transform(e.payload, '{
                "payment_provider_id": "VARCHAR", "payment_provider_transfer_id": "VARCHAR",
                "payout_account_id": "JSON", "merchant_id": "JSON", "amount": "JSON",
                "currency": "VARCHAR", "status": "VARCHAR", "payment_provider": "VARCHAR",
                "related_orders": "JSON", "related_bags": "JSON", "related_distributions": "JSON",
                "related_order_ids": "JSON", "related_bag_ids": "JSON",
                "related_distribution_ids": "JSON", "transfer_reversals": "JSON", "errors": "JSON",
                "date_created": "VARCHAR"
            }') as t,
        from query_table(events) as e
        where e.entity = 'transfer'
    )

    select
        entity_id as id,
        date_last_modified,
        received_at,
        event_key,
        topic as last_topic,
        coalesce(t.payment_provider_id, t.payment_provider_transfer_id) as payment_provider_id,
        violet_minor(t.payout_account_id) as payout_account_id,
        violet_minor(t.merchant_id) as merchant_id,
        violet_minor(t.amount) as amount_minor,
        t.currency,
        t.status,
        t.payment_provider,
        violet_id_list(t.related_order_ids, t.related_orders) as related_orders,
        violet_id_list(t.related_bag_ids, t.related_bags) as related_bags,
        violet_id_list(
            t.related_distribution_ids, t.related_distributions
        ) as related_distributions,
        cast(try_cast(t.transfer_reversals as json[]) as varchar[]) as transfer_reversals,
        t.errors,
        violet_ts(t.date_created) as date_created,
    from parsed;
