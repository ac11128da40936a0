"""The Violet entities core models, each a current table core.<entity> and a history
core.<entity>_history (sql/core/)."""

CORE_ENTITIES = (
    "orders",
    "bags",
    "bag_skus",
    "payment_transactions",
    "transfers",
    "merchants",
    "offers",
    "collections",
    "syncs",
    "payout_accounts",
)
# The entities read from order bodies (parsed once for all four, see sql/core/_event_docs.sql).
ORDER_TABLES = ("orders", "bags", "bag_skus", "payment_transactions")
