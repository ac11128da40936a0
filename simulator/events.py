"""Logical events: one entity version announced under one topic, before it becomes deliveries.

A change to an entity produces one new version (a payload with a new `date_last_modified`) and
one or more events announcing it (ORDER_SHIPPED and ORDER_UPDATED share one version). Topic
names are Violet's (violet-webhooks.md); `entity_of_topic` maps each to its entity table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from simulator import clock, ids

ORDERS = "orders"
MERCHANTS = "merchants"
PAYOUT_ACCOUNTS = "payout_accounts"
OFFERS = "offers"
COLLECTIONS = "collections"
SYNCS = "syncs"
PAYMENT_TRANSACTIONS = "payment_transactions"
TRANSFERS = "transfers"

# Every documented topic this simulator emits, grouped by entity.
TOPICS: dict[str, tuple[str, ...]] = {
    ORDERS: (
        "ORDER_ACCEPTED",
        "ORDER_CANCELED",
        "ORDER_CANCELLED",
        "ORDER_COMPLETED",
        "ORDER_DELIVERED",
        "ORDER_FAILED",
        "ORDER_REFUNDED",
        "ORDER_RETURNED",
        "ORDER_SHIPPED",
        "ORDER_UPDATED",
    ),
    MERCHANTS: (
        "MERCHANT_COMPLETE",
        "MERCHANT_CONNECTED",
        "MERCHANT_DISABLED",
        "MERCHANT_DISCONNECTED",
        "MERCHANT_ENABLED",
        "MERCHANT_NEEDS_ATTENTION",
    ),
    PAYOUT_ACCOUNTS: (
        "MERCHANT_PAYOUT_ACCOUNT_ACTIVATED",
        "MERCHANT_PAYOUT_ACCOUNT_CREATED",
        "MERCHANT_PAYOUT_ACCOUNT_DEACTIVATED",
        "MERCHANT_PAYOUT_ACCOUNT_REQUIREMENTS_UPDATED",
    ),
    OFFERS: ("OFFER_ADDED", "OFFER_REMOVED", "OFFER_UPDATED"),
    COLLECTIONS: ("COLLECTION_CREATED", "COLLECTION_OFFERS_UPDATED", "COLLECTION_UPDATED"),
    SYNCS: (
        "COLLECTION_SYNC_COMPLETED",
        "COLLECTION_SYNC_FAILED",
        "COLLECTION_SYNC_STARTED",
        "PRODUCT_SYNC_COMPLETED",
        "PRODUCT_SYNC_FAILED",
        "PRODUCT_SYNC_STARTED",
    ),
    PAYMENT_TRANSACTIONS: (
        "PAYMENT_TRANSACTION_AUTHORIZED",
        "PAYMENT_TRANSACTION_CAPTURED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_UPDATED",
        "PAYMENT_TRANSACTION_FAILED",
        "PAYMENT_TRANSACTION_PARTIALLY_REFUNDED",
        "PAYMENT_TRANSACTION_REFUNDED",
    ),
    TRANSFERS: (
        "TRANSFER_FAILED",
        "TRANSFER_PARTIALLY_REFUNDED",
        "TRANSFER_PARTIALLY_REVERSED",
        "TRANSFER_REVERSAL_FAILED",
        "TRANSFER_REVERSED",
        "TRANSFER_SENT",
        "TRANSFER_UPDATED",
    ),
}
ENTITIES: tuple[str, ...] = tuple(TOPICS)
_ENTITY_OF_TOPIC = {topic: entity for entity, topics in TOPICS.items() for topic in topics}

# Topics nobody documented (Violet adds topics over time): sent as genuine, unmodellable events.
UNKNOWN_TOPICS: tuple[str, ...] = (
    "DISTRIBUTION_CREATED",
    "ORDER_ARCHIVED",
    "PAYOUT_PAID",
    "DISPUTE_OPENED",
)

# One webhook subscription per topic, all pointing at the same endpoint.
WEBHOOK_IDS: dict[str, str] = {
    topic: str(ids.WEBHOOK_BASE + n)
    for n, topic in enumerate(sorted([*_ENTITY_OF_TOPIC, *UNKNOWN_TOPICS]))
}


def entity_of_topic(topic: str) -> str | None:
    """The entity table a documented topic's body belongs to; None for unknown topics."""
    return _ENTITY_OF_TOPIC.get(topic)


Headers = tuple[tuple[str, str], ...]


class Event(NamedTuple):
    """One logical event: `body` is the version's exact payload bytes."""

    at: int  # the version's date_last_modified, epoch seconds
    topic: str
    entity: str
    entity_id: int
    version: int  # 0, 1, 2... within the entity
    body: bytes
    headers: Headers  # topic-specific headers (order/bag/merchant/...)


def dumps(payload: Any) -> bytes:
    """Compact, key-order-preserving JSON: the wire form of every payload."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


Build = Callable[[clock.Formatter, int], dict[str, Any]]


class EntityLog:
    """Versions of one entity: stamps strictly increasing dates and appends its events.

    Changes must be recorded in time order; a change after `as_of` is dropped (it has not
    happened yet when the span ends), and so is every later one.
    """

    __slots__ = ("entity", "entity_id", "headers", "last", "out", "shape", "stamp", "version")

    def __init__(
        self,
        shape: Shape,
        entity: str,
        entity_id: int,
        out: list[Event],
        headers: Headers = (),
    ) -> None:
        self.shape = shape
        self.entity = entity
        self.entity_id = entity_id
        self.out = out
        self.headers = headers
        self.stamp = clock.Stamp()
        self.version = 0
        self.last: dict[str, Any] | None = None

    def record(
        self,
        at: int,
        topics: tuple[str, ...],
        build: Build,
        headers: Headers | None = None,
    ) -> bool:
        dlm = max(at, self.stamp.last + 1)
        if dlm > self.shape.as_of_s:
            return False
        self.stamp.last = dlm
        payload = build(self.shape.formatter(), dlm)
        body = dumps(payload)
        hdrs = self.headers if headers is None else headers
        for topic in topics:
            self.out.append(
                Event(dlm, topic, self.entity, self.entity_id, self.version, body, hdrs)
            )
        self.version += 1
        self.last = payload
        return True


class Shape:
    """Representation choices drawn from their own random stream (so rates never move facts)."""

    __slots__ = ("alt_spelling", "as_of_s", "rng", "updated_beside", "z_timestamp")

    def __init__(
        self,
        rng_random: Callable[[], float],
        as_of_s: int,
        z_timestamp: float,
        alt_spelling: float,
        updated_beside: float,
    ) -> None:
        self.rng = rng_random
        self.as_of_s = as_of_s
        self.z_timestamp = z_timestamp
        self.alt_spelling = alt_spelling
        self.updated_beside = updated_beside

    def formatter(self) -> clock.Formatter:
        return clock.fmt_z if self.rng() < self.z_timestamp else clock.fmt_offset

    def spelling(self, usual: str, alternative: str) -> str:
        return alternative if self.rng() < self.alt_spelling else usual

    def beside(self) -> bool:
        return self.rng() < self.updated_beside
