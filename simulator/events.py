"""Logical events: one entity version announced under one topic, before it becomes deliveries.

A change to an entity produces one new version (a payload with a new `date_last_modified`) and
one or more events announcing it (ORDER_SHIPPED and ORDER_UPDATED share one version). Topic
names are Violet's (violet-webhooks.md); `entity_of_topic` maps each to its entity table.

Besides the documented topics (`TOPICS`), Violet adds topics over time: `NEW_FAMILY_TOPICS` are
undocumented names of a known family (same prefix, same body), which the delivery stream sends
now and then as an extra event beside a documented one (same version: the entity's state does
not change); they belong to that family's entity. `UNKNOWN_TOPICS` belong to no known family
and cannot be modelled.
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
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_AUTHORIZED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_CAPTURED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_FAILED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_PARTIALLY_REFUNDED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_REFUNDED",
        "PAYMENT_TRANSACTION_CAPTURE_STATUS_UPDATED",
    ),
    TRANSFERS: (
        "TRANSFER_FAILED",
        "TRANSFER_PARTIALLY_REFUNDED",
        "TRANSFER_PARTIALLY_REVERSED",
        "TRANSFER_PARTIALLY_SENT",
        "TRANSFER_REVERSAL_FAILED",
        "TRANSFER_REVERSED",
        "TRANSFER_SENT",
        "TRANSFER_UPDATED",
    ),
}
ENTITIES: tuple[str, ...] = tuple(TOPICS)

# Undocumented names of a known family (same prefix and body as the entity's documented topics).
NEW_FAMILY_TOPICS: dict[str, tuple[str, ...]] = {
    ORDERS: ("ORDER_ON_HOLD",),
    MERCHANTS: ("MERCHANT_SUSPENDED",),
    PAYOUT_ACCOUNTS: ("MERCHANT_PAYOUT_ACCOUNT_UPDATED",),
    OFFERS: ("OFFER_ARCHIVED",),
    COLLECTIONS: ("COLLECTION_ARCHIVED",),
    SYNCS: ("COLLECTION_SYNC_QUEUED", "PRODUCT_SYNC_QUEUED"),  # the sync's type is its prefix
    PAYMENT_TRANSACTIONS: ("PAYMENT_TRANSACTION_CAPTURE_STATUS_REQUIRES_ACTION",),
    TRANSFERS: ("TRANSFER_PENDING",),
}
_ENTITY_OF_TOPIC = {
    topic: entity
    for table in (TOPICS, NEW_FAMILY_TOPICS)
    for entity, topics in table.items()
    for topic in topics
}
_DOCUMENTED = frozenset(t for topics in TOPICS.values() for t in topics)

# Topics of no known family (Violet adds topics over time): genuine, unmodellable events.
UNKNOWN_TOPICS: tuple[str, ...] = (
    "DISTRIBUTION_CREATED",
    "PAYOUT_PAID",
    "DISPUTE_OPENED",
    "REFUND_CREATED",
)

# One webhook subscription per topic, all pointing at the same endpoint.
WEBHOOK_IDS: dict[str, str] = {
    topic: str(ids.WEBHOOK_BASE + n)
    for n, topic in enumerate(sorted([*_ENTITY_OF_TOPIC, *UNKNOWN_TOPICS]))
}


def entity_of_topic(topic: str) -> str | None:
    """The entity table a topic's body belongs to (documented or new in a known family);
    None for topics of no known family."""
    return _ENTITY_OF_TOPIC.get(topic)


def is_documented(topic: str) -> bool:
    return topic in _DOCUMENTED


def new_family_topic(entity: str, topic: str) -> str:
    """The undocumented name of `topic`'s family sent beside an event of `entity`."""
    if entity == SYNCS:
        return topic.split("_SYNC_", 1)[0] + "_SYNC_QUEUED"
    return NEW_FAMILY_TOPICS[entity][0]


Headers = tuple[tuple[str, str], ...]


class Event(NamedTuple):
    """One logical event: `body` is the version's exact payload bytes."""

    at: int  # the version's date_last_modified, epoch seconds (clock.instant_us: exact)
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

# An entity's newest version as the truth reads it: (a topic announcing it, its payload).
Final = tuple[str, dict[str, Any]]


class EntityLog:
    """Versions of one entity: stamps strictly increasing dates and appends its events.

    Changes must be recorded in time order; a change after `as_of` is dropped (it has not
    happened yet when the span ends), and so is every later one.
    """

    __slots__ = (
        "entity",
        "entity_id",
        "headers",
        "last",
        "last_topic",
        "out",
        "shape",
        "stamp",
        "version",
    )

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
        self.last_topic = ""

    def final(self) -> Final | None:
        """The newest version, with the first topic announcing it (None: no version yet)."""
        return None if self.last is None else (self.last_topic, self.last)

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
        self.last_topic = topics[0]
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
