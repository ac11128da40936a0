"""What order chunks know of the merchant side: merchants, their offers, and who sells when.

Merchants are simulated in groups (`simulator.merchants`, `MERCHANT_GROUP` at a time, each
merchant on its own random stream). This module holds what a group hands back (one `Merchant`
each) and the `Catalog` orders draw their merchants from. Merchant indices, in order: active
(most onboard in the first ten minutes, the rest join mid-span as "late"), churning, then one
blocked merchant per PAYOUT_ACCOUNT_BLOCKED anomaly.
"""

from __future__ import annotations

import bisect
import math
from typing import NamedTuple

from simulator.world import WorldPlan


class Sku(NamedTuple):
    sku_id: int
    name: str
    usd_cents: int


class Offer(NamedTuple):
    offer_id: int
    name: str
    skus: tuple[Sku, ...]


class Merchant(NamedTuple):
    """What order chunks need to know about a merchant."""

    ordinal: int  # position in Catalog.merchants
    merchant_id: int
    name: str
    currency: str
    country: str
    commission_bp: int
    payout_account_id: int
    batched: bool  # paid by scheduled transfers: one net transfer a day (simulator.orders)
    batch_offset_s: int  # its daily batch runs at 20:00 UTC + this (0-60 min)
    ready_s: int  # from then on orders may include this merchant
    offers: tuple[Offer, ...]


class Catalog:
    """Merchants by index, and the pool orders draw from (sorted by readiness)."""

    def __init__(self, merchants: list[Merchant], pool: list[int], blocked: dict[int, int]):
        self.merchants = merchants
        self.pool = sorted(pool, key=lambda m: (merchants[m].ready_s, m))
        self.pool_ready = [merchants[m].ready_s for m in self.pool]
        self.blocked_by_order = blocked

    def ready_count(self, at: int) -> int:
        """How many pool merchants (a prefix of `pool`) are ready at `at`."""
        return bisect.bisect_right(self.pool_ready, at)


MERCHANT_GROUP = 400  # merchants simulated together (a unit of parallel work)


def kind_of(plan: WorldPlan, index: int) -> str:
    """active (onboards first), late (joins mid-span), churn, or blocked (an anomaly's own)."""
    if index < plan.n_active:
        return "active" if index < max(3, plan.n_active * 85 // 100) else "late"
    if index < plan.n_active + plan.n_churn:
        return "churn"
    return "blocked"


def n_groups(plan: WorldPlan) -> int:
    return math.ceil(plan.n_merchants / MERCHANT_GROUP)


def assemble(plan: WorldPlan, merchants: list[Merchant]) -> Catalog:
    """The catalog order chunks draw from, given every merchant in index order."""
    pool = [m.ordinal for m in merchants if kind_of(plan, m.ordinal) in ("active", "late")]
    first_blocked = plan.n_active + plan.n_churn
    blocked = {order: first_blocked + k for k, order in enumerate(plan.blocked_orders)}
    return Catalog(merchants, pool, blocked)
