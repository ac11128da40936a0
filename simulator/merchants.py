"""Merchant lifecycles: merchants, payout accounts, offers, collections and syncs, as events.

Each merchant follows its own random stream, so adding orders never changes a merchant.

- **Active** merchants connect (most in the first ten minutes, some later), get a payout account
  (created with requirements due, requirements cleared, activated), sync products (offers added)
  and collections, and are marked complete; from then on orders may pick them. Over the span
  their offers are updated or removed, collections updated, products re-synced (some syncs
  fail), and a few need attention for a while or see payout requirements change (payouts stay
  enabled).
- **Churning** merchants connect, need attention and are disabled (sometimes re-enabled) or
  disconnected with their payout account deactivated. They never sell, so nothing is owed.
- **Blocked** merchants (one per PAYOUT_ACCOUNT_BLOCKED anomaly) onboard normally, sell exactly
  one bag (the anomaly) and have their payout account blocked minutes before that order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, NamedTuple

from simulator import clock, ids, money
from simulator.catalog import MERCHANT_GROUP, Merchant, Offer, Sku, kind_of
from simulator.events import (
    COLLECTIONS,
    MERCHANTS,
    OFFERS,
    PAYOUT_ACCOUNTS,
    SYNCS,
    EntityLog,
    Event,
    Final,
    Headers,
    Shape,
)
from simulator.world import WorldPlan

_ADJECTIVES = (
    "Blue", "Golden", "Quiet", "Wild", "North", "Urban", "Little", "Bright", "Silver", "Maple",
    "Coastal", "Velvet", "Iron", "Cedar", "Lunar", "Sunny", "Rustic", "Modern", "Happy", "Brave",
)  # fmt: skip
_NOUNS = (
    "Fern", "Harbor", "Atelier", "Supply", "Goods", "Studio", "Outfitters", "Pantry", "Collective",
    "Workshop", "Trading", "Provisions", "Threads", "Botanics", "Ceramics", "Apothecary", "Market",
)  # fmt: skip
_PRODUCTS = (
    "Tote", "Candle", "Mug", "Hoodie", "Sneaker", "Notebook", "Lamp", "Scarf", "Backpack", "Serum",
    "Blanket", "Watch", "Planter", "Tee", "Cap", "Bottle", "Journal", "Cushion", "Wallet", "Vase",
)  # fmt: skip
_VARIANTS = ("S", "M", "L", "Black", "White", "Natural", "Navy", "Large", "Small")
_PRICES_USD_CENTS = (899, 1299, 1599, 1999, 2499, 2999, 3499, 4999, 6999, 8999, 12999, 19999)
_PLATFORMS = (
    ("SHOPIFY", 60), ("WOOCOMMERCE", 14), ("BIGCOMMERCE", 10), ("MAGENTO", 6), ("WIX", 5),
    ("SQUARESPACE", 3), ("ECWID", 2),
)  # fmt: skip
_MERCHANT_CURRENCIES = (("USD", 80), ("EUR", 8), ("GBP", 6), ("CAD", 5), ("JPY", 1))
_DUE_AT_SIGNUP = (
    "external_account",
    "individual.verification.document",
    "business_profile.url",
)
_SYNCS_PER_MERCHANT = 200  # id stride: the first product and collection syncs, then re-syncs
_DISABLE_REASONS = ("MERCHANT_REQUEST", "COMPLIANCE_REVIEW", "INCOMPLETE_ONBOARDING")


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in choices)
    x = rng.random() * total
    for value, weight in choices:
        x -= weight
        if x < 0:
            return value
    return choices[-1][0]


def _between(rng: random.Random, lo: int, hi: int) -> int:
    return lo + int(rng.random() * (hi - lo + 1))


def _poisson(rng: random.Random, lam: float) -> int:
    limit, n, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        n += 1
        p *= rng.random()
    return n


class _Lifecycle:
    """Builds one merchant's entities and records their versions."""

    def __init__(self, plan: WorldPlan, index: int, kind: str, out: list[Event]) -> None:
        self.plan = plan
        self.index = index
        self.kind = kind
        self.out = out
        seed = plan.seed
        self.rng = ids.rng_for(seed, ids.STREAM_MERCHANT, index)
        self.shape = Shape(
            ids.rng_for(seed, ids.STREAM_SHAPE, index).random,
            plan.as_of_s,
            plan.options.stream.z_timestamp,
            plan.options.stream.alt_spelling,
            plan.options.stream.updated_beside,
        )
        self.finals: dict[str, list[Final]] = {
            MERCHANTS: [],
            PAYOUT_ACCOUNTS: [],
            OFFERS: [],
            COLLECTIONS: [],
            SYNCS: [],
        }
        rng = self.rng
        self.merchant_id = ids.MERCHANT_BASE + index
        self.name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        self.name_key = "name" if rng.random() < 0.05 else "merchant_name"  # older payloads
        self.platform = _weighted(rng, _PLATFORMS)
        self.currency = _weighted(rng, _MERCHANT_CURRENCIES)
        self.country = money.BY_CODE[self.currency].countries[0]
        self.commission_bp = rng.choice(money.COMMISSION_BP)
        # Paid by scheduled transfers (simulator.orders); never the first merchant (so that a
        # ready merchant paid per bag exists for anomalies) nor an anomaly's blocked one.
        self.batched = rng.random() < 0.3 and index > 0 and kind != "blocked"
        self.batch_offset_s = _between(rng, 0, 3600)
        self.store_url = "https://{}-{}.example.com".format(
            self.name.lower().replace(" ", "-"), self.merchant_id
        )
        self.payout_account_id = ids.PAYOUT_ACCOUNT_BASE + index
        self.acct = ids.token(rng, "acct_", 16)
        self.status = "CONNECTED"
        self.connection_status = "CONNECTED"
        self.created_s = 0
        self.ready_s = plan.as_of_s + 1
        self.offers: list[Offer] = []
        self.sync_seq = 0

    # -- payload shapes ----------------------------------------------------------------------

    def _merchant_payload(self, fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
        return {
            "id": self.merchant_id,
            self.name_key: self.name,
            "platform": self.platform,
            "store_url": self.store_url,
            "status": self.status,
            "connection_status": self.connection_status,
            "default_currency": self.currency,
            "commission_rate": money.rate_percent(self.commission_bp),
            "date_created": fmt(self.merchant_id, self.created_s),
            "date_last_modified": fmt(self.merchant_id, dlm),
        }

    # -- the merchant ------------------------------------------------------------------------

    def run(self) -> Merchant:
        rng, plan = self.rng, self.plan
        if self.kind == "late":
            t0 = _between(
                rng,
                plan.start_s + clock.HOUR,
                plan.start_s + (plan.as_of_s - plan.start_s) * 3 // 5,
            )
        elif self.kind == "churn":
            t0 = _between(rng, plan.start_s, plan.as_of_s - 3 * clock.HOUR)
        else:
            t0 = _between(rng, plan.start_s, plan.start_s + 600)
        self.created_s = t0
        headers: Headers = (("X-Violet-Merchant-Id", str(self.merchant_id)),)
        self.log = EntityLog(self.shape, MERCHANTS, self.merchant_id, self.out, headers)
        self.headers = headers
        self.changes: list[tuple[int, int, str, Callable[[], None], str | None]] = []
        self._change(t0, "MERCHANT_CONNECTED", lambda: None)

        payout = _PayoutAccount(self, t0 + _between(rng, 30, 180))
        n_offers = _between(rng, 1, 4) if self.kind == "churn" else _between(rng, 3, 12)
        sync_start = t0 + _between(rng, 60, 240)
        if self.kind == "churn" and rng.random() < 0.5:
            self._sync("PRODUCT", sync_start, n_offers, failed_after=_between(rng, 30, 300))
            done = sync_start + 300
        else:
            done = self._product_sync_with_offers(sync_start, n_offers)
            done = self._collection_sync(done + _between(rng, 30, 120))

        if self.kind == "churn":
            self._churn(t0, payout)
        else:
            activated = payout.onboard(t0)
            complete = max(done, activated) + _between(rng, 10, 60)
            self._status_change(complete, "MERCHANT_COMPLETE", "COMPLETE")
            self.ready_s = complete + 60
            if self.kind == "blocked":
                order = plan.blocked_orders[self.index - plan.n_active - plan.n_churn]
                order_s = plan.order_time(order)
                payout.block(max(self.ready_s + 60, order_s - _between(rng, 300, 1800)))
            else:
                self._ongoing(payout)
        payout.flush()
        self._flush()
        return Merchant(
            self.index,
            self.merchant_id,
            self.name,
            self.currency,
            self.country,
            self.commission_bp,
            self.payout_account_id,
            self.batched,
            self.batch_offset_s,
            self.ready_s,
            tuple(self.offers),
        )

    def _change(
        self, at: int, topic: str, apply: Callable[[], None], reason: str | None = None
    ) -> None:
        self.changes.append((at, len(self.changes), topic, apply, reason))

    def _status_change(
        self, at: int, topic: str, status: str, connection: str | None = None
    ) -> None:
        def apply() -> None:
            self.status = status
            if connection is not None:
                self.connection_status = connection

        reason = self.rng.choice(_DISABLE_REASONS) if topic in _REASON_TOPICS else None
        self._change(at, topic, apply, reason)

    def _flush(self) -> None:
        for at, _, topic, apply, reason in sorted(self.changes, key=lambda c: (c[0], c[1])):
            apply()
            headers: Headers = self.headers
            if reason is not None:
                headers = (*headers, ("X-Violet-Reason", reason))
            self.log.record(at, (topic,), self._merchant_payload, headers)
        _keep(self.finals[MERCHANTS], self.log)

    def _churn(self, t0: int, payout: _PayoutAccount) -> None:
        rng = self.rng
        attention = t0 + _between(rng, 10 * clock.MINUTE, 2 * clock.HOUR)
        self._status_change(attention, "MERCHANT_NEEDS_ATTENTION", "NEEDS_ATTENTION")
        fate_at = attention + _between(rng, 30 * clock.MINUTE, 3 * clock.HOUR)
        if rng.random() < 0.5:
            self._status_change(fate_at, "MERCHANT_DISABLED", "DISABLED")
            if rng.random() < 0.4:
                back = fate_at + _between(rng, clock.HOUR, 6 * clock.HOUR)
                self._status_change(back, "MERCHANT_ENABLED", "NEEDS_ATTENTION")
        else:
            payout.activate(t0 + _between(rng, 5 * clock.MINUTE, 20 * clock.MINUTE))
            self._status_change(fate_at, "MERCHANT_DISCONNECTED", "DISCONNECTED", "NOT_CONNECTED")
            payout.deactivate(fate_at + _between(rng, 60, 600))

    def _ongoing(self, payout: _PayoutAccount) -> None:
        rng, plan = self.rng, self.plan
        days = plan.options.days
        after = self.ready_s
        if after >= plan.as_of_s:
            return
        if rng.random() < 0.04:
            at = _between(rng, after, plan.as_of_s)
            self._status_change(at, "MERCHANT_NEEDS_ATTENTION", "NEEDS_ATTENTION")
            back = at + _between(rng, clock.HOUR, 12 * clock.HOUR)
            self._status_change(back, "MERCHANT_COMPLETE", "COMPLETE")
        if rng.random() < 0.10:
            payout.eventually_due(_between(rng, after, plan.as_of_s))
        for _ in range(min(_poisson(rng, 0.3 * days), _SYNCS_PER_MERCHANT - 2)):
            start = _between(rng, after, plan.as_of_s)
            failed = _between(rng, 60, 600) if rng.random() < 0.1 else None
            self._sync("PRODUCT", start, len(self.offers), failed_after=failed)

    # -- syncs, offers, collections --------------------------------------------------------------

    def _sync(self, kind: str, start: int, total: int, failed_after: int | None = None) -> int:
        """Record a sync of `total` items; returns when it ends."""
        rng = self.rng
        sync_id = ids.SYNC_BASE + self.index * _SYNCS_PER_MERCHANT + self.sync_seq
        self.sync_seq += 1
        log = EntityLog(self.shape, SYNCS, sync_id, self.out)
        state = {"status": "IN_PROGRESS"}

        def payload(fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
            # Documented Sync fields only: the type (PRODUCT / COLLECTION) is in the topic.
            return {
                "id": sync_id,
                "merchant_id": self.merchant_id,
                "status": state["status"],
                "date_created": fmt(sync_id, start),
                "date_last_modified": fmt(sync_id, dlm),
            }

        log.record(start, (f"{kind}_SYNC_STARTED",), payload)
        if failed_after is not None:
            end = start + failed_after
            state["status"] = "FAILED"
            log.record(end, (f"{kind}_SYNC_FAILED",), payload)
        else:
            end = start + _between(rng, 60, 600) + total
            state["status"] = "COMPLETED"
            log.record(end, (f"{kind}_SYNC_COMPLETED",), payload)
        _keep(self.finals[SYNCS], log)
        return end

    def _product_sync_with_offers(self, start: int, n_offers: int) -> int:
        rng = self.rng
        end = self._sync("PRODUCT", start, n_offers)
        base = len(self.offers)
        for k in range(n_offers):
            seq = self.index * 16 + base + k
            offer_id = ids.OFFER_BASE + seq
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_PRODUCTS)}"
            price = rng.choice(_PRICES_USD_CENTS)
            skus = tuple(
                Sku(
                    ids.OFFER_SKU_BASE + seq * 4 + v,
                    f"{name} / {rng.choice(_VARIANTS)}",
                    price + (v * 200 if rng.random() < 0.5 else 0),
                )
                for v in range(_between(rng, 1, 3))
            )
            offer = Offer(offer_id, name, skus)
            self.offers.append(offer)
            added = _between(rng, start + 1, max(start + 1, end - 1))
            _OfferLife(self, offer, added).run()
        return end

    def _collection_sync(self, start: int) -> int:
        rng = self.rng
        n = _between(rng, 1, 4)
        end = self._sync("COLLECTION", start, n)
        for k in range(n):
            created = _between(rng, start + 1, max(start + 1, end - 1))
            _CollectionLife(self, ids.COLLECTION_BASE + self.index * 8 + k, created, end).run()
        return end


_REASON_TOPICS = frozenset({"MERCHANT_DISABLED", "MERCHANT_ENABLED"})


def _keep(finals: list[Final], log: EntityLog) -> None:
    final = log.final()
    if final is not None:
        finals.append(final)


class _OfferLife:
    """One offer: added during a product sync, then updated and sometimes removed."""

    def __init__(self, owner: _Lifecycle, offer: Offer, added: int) -> None:
        self.owner = owner
        self.offer = offer
        self.added = added
        currency = owner.currency
        self.currency = currency
        self.prices = [money.convert_from_usd_cents(s.usd_cents, currency) for s in offer.skus]
        self.available = True
        self.status = "AVAILABLE"
        self.visible = True

    def payload(self, fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
        offer = self.offer
        return {
            "id": offer.offer_id,
            "name": offer.name,
            "merchant_id": self.owner.merchant_id,
            "available": self.available,
            "visible": self.visible,
            "status": self.status,
            "min_price": min(self.prices),
            "max_price": max(self.prices),
            "currency": self.currency,
            "skus": [
                {
                    "id": sku.sku_id,
                    "offer_id": offer.offer_id,
                    "name": sku.name,
                    "retail_price": price,
                    "currency": self.currency,
                    "in_stock": self.available,
                }
                for sku, price in zip(offer.skus, self.prices, strict=True)
            ],
            "date_created": fmt(offer.offer_id, self.added),
            "date_last_modified": fmt(offer.offer_id, dlm),
        }

    def run(self) -> None:
        owner = self.owner
        rng, plan = owner.rng, owner.plan
        log = EntityLog(owner.shape, OFFERS, self.offer.offer_id, owner.out)
        log.record(self.added, ("OFFER_ADDED",), self.payload)
        if owner.kind in ("active", "late"):
            changes = sorted(
                _between(rng, self.added, plan.as_of_s)
                for _ in range(_poisson(rng, 0.15 * plan.options.days))
            )
            removed = (
                _between(rng, self.added, plan.as_of_s) if rng.random() < 0.03 else plan.as_of_s + 1
            )
            for at in changes:
                if at >= removed:
                    break
                if rng.random() < 0.7:
                    factor = rng.choice((90, 95, 105, 110))
                    self.prices = [max(1, p * factor // 100) for p in self.prices]
                else:
                    self.available = not self.available
                    self.status = "AVAILABLE" if self.available else "UNAVAILABLE"
                log.record(at, ("OFFER_UPDATED",), self.payload)
            if removed <= plan.as_of_s:
                self.available, self.visible, self.status = False, False, "ARCHIVED"
                log.record(removed, ("OFFER_REMOVED",), self.payload)
        _keep(owner.finals[OFFERS], log)


class _CollectionLife:
    """One collection: created during a collection sync, then renamed or its offers changed."""

    def __init__(self, owner: _Lifecycle, collection_id: int, created: int, synced: int) -> None:
        self.owner = owner
        self.collection_id = collection_id
        self.created = created
        self.synced = synced
        rng = owner.rng
        self.name = f"{rng.choice(_ADJECTIVES)} {rng.choice(('Picks', 'Favorites', 'Sale', 'New'))}"
        self.type = "CUSTOM" if rng.random() < 0.7 else "AUTOMATED"

    def payload(self, fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
        return {
            "id": self.collection_id,
            "merchant_id": self.owner.merchant_id,
            "external_id": str(4_000_000_000 + self.collection_id),
            "name": self.name,
            "type": self.type,
            "handle": self.name.lower().replace(" ", "-"),
            "date_created": fmt(self.collection_id, self.created),
            "date_last_modified": fmt(self.collection_id, dlm),
        }

    def run(self) -> None:
        owner = self.owner
        rng, plan = owner.rng, owner.plan
        log = EntityLog(owner.shape, COLLECTIONS, self.collection_id, owner.out)
        log.record(self.created, ("COLLECTION_CREATED",), self.payload)
        if owner.kind in ("active", "late"):
            days = plan.options.days
            changes = [
                (_between(rng, self.synced, plan.as_of_s), "COLLECTION_UPDATED")
                for _ in range(_poisson(rng, 0.1 * days))
            ] + [
                (_between(rng, self.synced, plan.as_of_s), "COLLECTION_OFFERS_UPDATED")
                for _ in range(_poisson(rng, 0.2 * days))
            ]
            for at, topic in sorted(changes):
                if topic == "COLLECTION_UPDATED":
                    self.name = f"{self.name.split(' ')[0]} {rng.choice(('Edit', 'Best', 'Top'))}"
                log.record(at, (topic,), self.payload)
        _keep(owner.finals[COLLECTIONS], log)


class _PayoutAccount:
    """A merchant's Stripe connected account as Violet reports it."""

    def __init__(self, owner: _Lifecycle, created: int) -> None:
        self.owner = owner
        self.created = created
        self.is_active = False
        self.charges = False
        self.payouts = False
        self.currently_due: list[str] = list(_DUE_AT_SIGNUP)
        self.past_due: list[str] = []
        self.eventually: list[str] = []
        self.pending: list[str] = []
        self.changes: list[tuple[int, int, str, Callable[[], None]]] = []
        self._change(created, "MERCHANT_PAYOUT_ACCOUNT_CREATED", lambda: None)

    def _change(self, at: int, topic: str, apply: Callable[[], None]) -> None:
        self.changes.append((at, len(self.changes), topic, apply))

    def payload(self, fmt: clock.Formatter, dlm: int) -> dict[str, Any]:
        owner = self.owner
        return {
            "id": owner.payout_account_id,
            "merchant_id": owner.merchant_id,
            "is_active": self.is_active,
            "country_code": owner.country,
            "payment_provider": "STRIPE",
            "payment_provider_account_id": owner.acct,
            "payment_provider_account": {
                "account_type": "EXPRESS",
                "charges_enabled": self.charges,
                "payouts_enabled": self.payouts,
                "requirements": {
                    "currently_due": list(self.currently_due),
                    "past_due": list(self.past_due),
                    "eventually_due": list(self.eventually),
                    "pending_verification": list(self.pending),
                    "errors": [],
                },
            },
            "errors": [],
            "date_created": fmt(owner.payout_account_id, self.created),
            "date_last_modified": fmt(owner.payout_account_id, dlm),
        }

    def onboard(self, t0: int) -> int:
        """Requirements cleared, then activated; returns the activation time."""
        rng = self.owner.rng
        cleared = t0 + _between(rng, 300, 900)

        def clear() -> None:
            self.currently_due = []
            self.pending = ["individual.verification.document"]

        self._change(cleared, "MERCHANT_PAYOUT_ACCOUNT_REQUIREMENTS_UPDATED", clear)
        activated = cleared + _between(rng, 60, 300)
        self.activate(activated)
        return activated

    def activate(self, at: int) -> None:
        def apply() -> None:
            self.is_active = self.charges = self.payouts = True
            self.currently_due = []
            self.pending = []

        self._change(at, "MERCHANT_PAYOUT_ACCOUNT_ACTIVATED", apply)

    def deactivate(self, at: int) -> None:
        def apply() -> None:
            self.is_active = self.charges = self.payouts = False

        self._change(at, "MERCHANT_PAYOUT_ACCOUNT_DEACTIVATED", apply)

    def eventually_due(self, at: int) -> None:
        def apply() -> None:
            self.eventually = ["company.tax_id"]

        self._change(at, "MERCHANT_PAYOUT_ACCOUNT_REQUIREMENTS_UPDATED", apply)

    def block(self, at: int) -> None:
        """Stripe stops payouts: a requirement went past due, or the account was deactivated."""
        if self.owner.rng.random() < 0.5:

            def past_due() -> None:
                self.past_due = ["individual.verification.document"]
                self.currently_due = ["individual.verification.document"]
                self.payouts = False

            self._change(at, "MERCHANT_PAYOUT_ACCOUNT_REQUIREMENTS_UPDATED", past_due)
        else:
            self.deactivate(at)

    def flush(self) -> None:
        owner = self.owner
        headers = (("X-Violet-Entity-External-Id", owner.acct),)
        log = EntityLog(owner.shape, PAYOUT_ACCOUNTS, owner.payout_account_id, owner.out, headers)
        for at, _, topic, apply in sorted(self.changes, key=lambda c: (c[0], c[1])):
            apply()
            log.record(at, (topic,), self.payload)
        _keep(owner.finals[PAYOUT_ACCOUNTS], log)


class MerchantGroup(NamedTuple):
    merchants: list[Merchant]
    events: list[Event]
    finals: dict[str, list[Final]]


def build_group(plan: WorldPlan, group: int) -> MerchantGroup:
    """The lifecycles of merchants `[group * MERCHANT_GROUP, ...)`: each merchant draws from its
    own random stream, so how merchants are grouped never changes them."""
    events: list[Event] = []
    finals: dict[str, list[Final]] = {
        MERCHANTS: [],
        PAYOUT_ACCOUNTS: [],
        OFFERS: [],
        COLLECTIONS: [],
        SYNCS: [],
    }
    merchants: list[Merchant] = []
    lo = group * MERCHANT_GROUP
    for index in range(lo, min(lo + MERCHANT_GROUP, plan.n_merchants)):
        life = _Lifecycle(plan, index, kind_of(plan, index), events)
        merchants.append(life.run())
        for entity, rows in life.finals.items():
            finals[entity].extend(rows)
    return MerchantGroup(merchants, events, finals)
