-- grain: one row per topic name violet-webhooks.md lists. Key: topic.
-- Which entity a topic's body is, its canonical spelling (both spellings of the ambiguous topics
-- occur) and documented (every name here is one Violet's documentation or code uses: the partial
-- reversal is TRANSFER_PARTIALLY_REFUNDED in the docs and TRANSFER_PARTIALLY_REVERSED in Violet's
-- code, and both are accepted as Violet's). A name not listed
-- here is matched against staging.topic_families (topic_families.sql): modeled as that family's
-- entity when its body has the entity's shape, else quarantined; a name of no family is
-- quarantined as unknown_topic.
create or replace table staging.topics as
select topic, entity, coalesce(canonical, topic) as canonical_topic, documented,
from (values
    ('ORDER_ACCEPTED', 'order', null, true),
    ('ORDER_UPDATED', 'order', null, true),
    ('ORDER_COMPLETED', 'order', null, true),
    ('ORDER_SHIPPED', 'order', null, true),
    ('ORDER_DELIVERED', 'order', null, true),
    ('ORDER_REFUNDED', 'order', null, true),
    ('ORDER_CANCELLED', 'order', null, true),
    ('ORDER_CANCELED', 'order', 'ORDER_CANCELLED', true),
    ('ORDER_RETURNED', 'order', null, true),
    ('ORDER_FAILED', 'order', null, true),
    ('MERCHANT_CONNECTED', 'merchant', null, true),
    ('MERCHANT_DISCONNECTED', 'merchant', null, true),
    ('MERCHANT_ENABLED', 'merchant', null, true),
    ('MERCHANT_DISABLED', 'merchant', null, true),
    ('MERCHANT_NEEDS_ATTENTION', 'merchant', null, true),
    ('MERCHANT_COMPLETE', 'merchant', null, true),
    ('OFFER_ADDED', 'offer', null, true),
    ('OFFER_UPDATED', 'offer', null, true),
    ('OFFER_REMOVED', 'offer', null, true),
    ('OFFER_DELETED', 'offer', null, true),
    ('OFFER_CREATED', 'offer', null, true),
    ('COLLECTION_CREATED', 'collection', null, true),
    ('COLLECTION_UPDATED', 'collection', null, true),
    ('COLLECTION_REMOVED', 'collection', null, true),
    ('COLLECTION_OFFERS_UPDATED', 'collection', null, true),
    ('PRODUCT_SYNC_STARTED', 'sync', null, true),
    ('PRODUCT_SYNC_COMPLETED', 'sync', null, true),
    ('PRODUCT_SYNC_FAILED', 'sync', null, true),
    ('COLLECTION_SYNC_STARTED', 'sync', null, true),
    ('COLLECTION_SYNC_COMPLETED', 'sync', null, true),
    ('COLLECTION_SYNC_FAILED', 'sync', null, true),
    ('MERCHANT_PAYOUT_ACCOUNT_CREATED', 'payout_account', null, true),
    ('MERCHANT_PAYOUT_ACCOUNT_REQUIREMENTS_UPDATED', 'payout_account', null, true),
    ('MERCHANT_PAYOUT_ACCOUNT_ACTIVATED', 'payout_account', null, true),
    ('MERCHANT_PAYOUT_ACCOUNT_DEACTIVATED', 'payout_account', null, true),
    ('MERCHANT_PAYOUT_ACCOUNT_DELETED', 'payout_account', null, true),
    ('PAYMENT_TRANSACTION_CAPTURE_STATUS_UPDATED', 'payment_transaction', null, true),
    ('PAYMENT_TRANSACTION_CAPTURE_STATUS_AUTHORIZED', 'payment_transaction', null, true),
    ('PAYMENT_TRANSACTION_CAPTURE_STATUS_CAPTURED', 'payment_transaction', null, true),
    ('PAYMENT_TRANSACTION_CAPTURE_STATUS_REFUNDED', 'payment_transaction', null, true),
    ('PAYMENT_TRANSACTION_CAPTURE_STATUS_PARTIALLY_REFUNDED', 'payment_transaction', null, true),
    ('PAYMENT_TRANSACTION_CAPTURE_STATUS_FAILED', 'payment_transaction', null, true),
    ('TRANSFER_SENT', 'transfer', null, true),
    ('TRANSFER_PARTIALLY_SENT', 'transfer', null, true),
    ('TRANSFER_FAILED', 'transfer', null, true),
    ('TRANSFER_UPDATED', 'transfer', null, true),
    ('TRANSFER_REVERSED', 'transfer', null, true),
    ('TRANSFER_REVERSAL_FAILED', 'transfer', null, true),
    ('TRANSFER_PARTIALLY_REFUNDED', 'transfer', 'TRANSFER_PARTIALLY_REVERSED', true),
    ('TRANSFER_PARTIALLY_REVERSED', 'transfer', null, true)
) as t (topic, entity, canonical, documented);
