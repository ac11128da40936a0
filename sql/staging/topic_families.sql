-- grain: one row per topic family; key: family.
-- inputs: nothing (the families are written in this file).
-- outputs: staging.topic_families (replaced).
-- Families are tried in priority order, 1 first.
-- Violet adds topics over time (violet-webhooks.md, Delivery). A topic not in staging.topics
-- whose name matches a family's pattern is Violet's: it is modeled as that family's entity
-- (topic_documented false, reported by the undocumented_topics check and in ops.topics) when
-- its body has the entity's shape: at least one field of `shape` present and not null (a
-- name ending in [] must be a JSON list). A body without that shape is quarantined as
-- wrong_shape; a name of no family as unknown_topic. Patterns are tried longest prefix first,
-- so MERCHANT_PAYOUT_ACCOUNT_X is a payout account, not a merchant, and any <X>_SYNC_Y a sync.
-- Run by the loader before each load (whole file: the table is rebuilt from this text).
create or replace table staging.topic_families as
select priority, family, pattern, entity, shape,
from (values
    (1, 'MERCHANT_PAYOUT_ACCOUNT_*', 'MERCHANT_PAYOUT_ACCOUNT_.+', 'payout_account',
        ['is_active', 'payment_provider_account_id']),
    (2, '*_SYNC_*', '[A-Z][A-Z0-9_]*_SYNC_.+', 'sync', ['merchant_id']),
    (3, 'PAYMENT_TRANSACTION_*', 'PAYMENT_TRANSACTION_.+', 'payment_transaction',
        ['capture_status']),
    (4, 'ORDER_*', 'ORDER_.+', 'order', ['bags[]']),
    (5, 'TRANSFER_*', 'TRANSFER_.+', 'transfer', [
        'payout_account_id', 'related_orders[]', 'related_bags[]', 'related_distributions[]',
        'related_order_ids[]', 'related_bag_ids[]', 'related_distribution_ids[]'
    ]),
    (6, 'MERCHANT_*', 'MERCHANT_.+', 'merchant', ['merchant_name', 'name', 'platform']),
    (7, 'OFFER_*', 'OFFER_.+', 'offer', ['merchant_id']),
    (8, 'COLLECTION_*', 'COLLECTION_.+', 'collection', ['merchant_id'])
) as f (priority, family, pattern, entity, shape);
