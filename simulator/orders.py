"""Orders, their payment transactions, and the transfers that pay merchants, one chunk at a time.

Each order follows its own random stream (`ids.rng_for(seed, STREAM_ORDER, i)`); transfers are
planned per chunk from a chunk stream. Times are compressed so that a one-day span exercises every
topic. A healthy order:

1. is submitted; its payment is AUTHORIZED, then CAPTURED: 1-8 s later for `capture_method`
   AUTOMATIC, 2-5 h later for the 10 % with CUSTOM (a capture not due before `as_of` stays
   AUTHORIZED). 1 % of AUTOMATIC payments FAIL and the order is cancelled within seconds (bags
   VOIDED). 8 % of orders have `transfer_method` DISABLED: nothing of theirs is ever transferred;
2. each bag (one per merchant, 1-3 per order) is accepted 2-30 min after capture (AUTOMATIC) or
   authorization (CUSTOM); 1.5 % of AUTOMATIC bags are rejected and refunded at once (nothing was
   transferred, so nothing is reversed);
3. each accepted, captured bag is transferred. Merchants paid per bag get one transfer per bag
   1-60 min after max(acceptance, capture); 2 % of those FAIL and are retried (same transfer id,
   SENT; the error item stays) 30-120 min later. Merchants paid by scheduled transfers
   (`Merchant.batched`) get one net transfer per currency and day at 20:00 UTC + their offset,
   covering their bags shipped before it and not yet paid (less partial refunds made before it;
   a bag refunded in full or cancelled before it is never paid) plus, listed again, the bags
   paid by an earlier batch and refunded since (minus the reversal: full refund, the merchant
   amount; partial, `money.partial_reversal`). A batch whose net would be <= 0 is not made that
   day (its lines wait for the next), unless it is the last one before `as_of` and a bag in it
   would be overdue there (then only the refunds wait). Batches are never reversed. A merchant
   keeps its batches in a chunk only if one of them (before `as_of`) covers two or more bags:
   otherwise its bags there are paid per bag (finance tells a batched merchant only by a
   multi-bag transfer);
4. shipped 6-12 h after acceptance, delivered 2-16 h later, completed 10 min-2 h later;
5. 2 % of bags are cancelled (per-bag merchants: 10-90 min after their transfer was sent;
   batched ones: before shipping), 1.25 % returned and refunded, 1.25 % refunded in full, 2.5 %
   partially refunded, 1-12 h after completion; a per-bag transfer is reversed 1-30 min after
   the refund.

Changes after `as_of` never happen; healthy failures are only simulated when they resolve before
`as_of`. Anomalous orders are shaped as `simulator.anomalies` describes.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from simulator import anomalies as A
from simulator import clock, ids, money
from simulator.catalog import Catalog, Merchant
from simulator.events import ORDERS, PAYMENT_TRANSACTIONS, TRANSFERS, Event, Final, Shape, dumps
from simulator.order_payloads import order_body, payment_json, prepare, transfer_payload
from simulator.order_state import Bag, Order, Payment, Refund, Transfer
from simulator.world import WorldPlan

_FIRST = ("Ava", "Liam", "Mia", "Noah", "Zoé", "Lukas", "Emma", "Hiro", "Olivia", "Mateo", "Chloé")
_LAST = ("Smith", "García", "Müller", "Tanaka", "Brown", "Dubois", "Jansen", "Wilson", "Rossi")
_STREETS = ("Main St", "Oak Ave", "Harbor Rd", "Station Rd", "Rue de la Paix", "Hauptstraße")
_CITIES = {
    "US": ("Austin", "TX"),
    "CA": ("Toronto", "ON"),
    "GB": ("Leeds", None),
    "DE": ("Köln", None),
    "FR": ("Lyon", None),
    "NL": ("Utrecht", None),
    "JP": ("Osaka", None),
}
_CARRIERS = ("UPS", "USPS", "FEDEX", "DHL", "CANADA_POST", "ROYAL_MAIL")
_BAG_COUNTS = ((1, 60), (2, 28), (3, 12))
_QUANTITIES = ((1, 80), (2, 15), (3, 5))

CUSTOM_CAPTURE_SHARE = 0.10  # of healthy orders: capture_method CUSTOM
DISABLED_TRANSFER_SHARE = 0.08  # of healthy orders: transfer_method DISABLED
BATCH_HOUR_S = 20 * clock.HOUR  # scheduled transfers run daily at 20:00 UTC + merchant offset
# A batched merchant's ship and refund times keep this far from its batch times, so that no
# version date (a few seconds later than planned at most, plus milliseconds) crosses one.
_BATCH_MARGIN_S = 120

# Order change kinds (payment changes are P_*).
P_AUTHORIZE, P_CAPTURE, P_FAIL, P_REFUND = 0, 1, 2, 3
O_SUBMIT, O_FAIL, O_ACCEPT, O_REJECT, O_SHIP, O_DELIVER, O_COMPLETE = 10, 11, 12, 13, 14, 15, 16
O_CANCEL, O_RETURN, O_REFUND, O_PAID = 17, 18, 19, 20

_ORDER_TOPIC = {
    O_SUBMIT: None,
    O_FAIL: "ORDER_FAILED",
    O_ACCEPT: "ORDER_ACCEPTED",
    O_REJECT: None,
    O_SHIP: "ORDER_SHIPPED",
    O_DELIVER: "ORDER_DELIVERED",
    O_COMPLETE: "ORDER_COMPLETED",
    O_RETURN: "ORDER_RETURNED",
    O_REFUND: "ORDER_REFUNDED",
    O_PAID: None,
}
_PT = "PAYMENT_TRANSACTION_CAPTURE_STATUS_"

# Post-acceptance fates of healthy bags (cumulative thresholds on one uniform draw).
_FATES = (("cancel", 0.02), ("return", 0.0325), ("refund_full", 0.045), ("refund_partial", 0.07))


def _between(rng: random.Random, lo: int, hi: int) -> int:
    return lo + int(rng.random() * (hi - lo + 1))


def _weighted(rng: random.Random, choices: tuple[tuple[int, int], ...]) -> int:
    x = rng.random() * sum(w for _, w in choices)
    for value, weight in choices:
        x -= weight
        if x < 0:
            return value
    return choices[-1][0]


class ChunkWorld(NamedTuple):
    events: list[Event]
    orders: list[tuple[str, bytes]]  # final order bodies (bags and payment inside), with topic
    payments: list[tuple[str, bytes]]  # final payment transaction bodies, with topic
    transfers: list[Final]
    exceptions: list[A.ExpectedException]


class _Chunk:
    def __init__(self, plan: WorldPlan, catalog: Catalog, chunk: int) -> None:
        self.plan = plan
        self.catalog = catalog
        self.chunk = chunk
        self.as_of = plan.as_of_s
        self.api = plan.options.api_fields
        rates = plan.options.stream
        self.shape = Shape(
            ids.rng_for(plan.seed, ids.STREAM_SHAPE, 1_000_000 + chunk).random,
            plan.as_of_s,
            rates.z_timestamp,
            rates.alt_spelling,
            rates.updated_beside,
        )
        self.events: list[Event] = []

    # -- phase 1: what each order is and what will happen to it --------------------------------

    def new_order(self, i: int, anomaly: str | None) -> Order:
        plan, catalog = self.plan, self.catalog
        rng = ids.rng_for(plan.seed, ids.STREAM_ORDER, i)
        o = Order(i, anomaly, rng, self.api)
        t = plan.order_time(i)
        o.auth_s = t
        o.created_s = t - _between(rng, 60, 1200)
        x = rng.random() * sum(c.weight for c in money.CURRENCIES)
        currency = money.CURRENCIES[-1]
        for c in money.CURRENCIES:
            x -= c.weight
            if x < 0:
                currency = c
                break
        o.currency = currency.code
        country = rng.choice(currency.countries)
        o.customer, o.shipping, o.billing = _people(rng, i, country)
        o.app_customer_id = str(900_000 + int(rng.random() * 5_000_000))
        custom = rng.random() < CUSTOM_CAPTURE_SHARE
        disabled = rng.random() < DISABLED_TRANSFER_SHARE
        if anomaly is None:  # anomalous orders capture and transfer AUTOMATIC
            o.capture_method = "CUSTOM" if custom else "AUTOMATIC"
            o.transfer_method = "DISABLED" if disabled else "AUTOMATIC"

        ready = catalog.ready_count(t)
        if ready < 1:
            raise RuntimeError(f"no merchant is ready for order {i} at {clock.iso(t)}")
        chosen: list[int] = []
        if anomaly == A.PAYOUT_ACCOUNT_BLOCKED:
            chosen.append(catalog.blocked_by_order[i])
        elif anomaly is not None:
            chosen.append(self._unbatched_merchant(rng, ready, i))
        n_bags = 1 if anomaly == A.UNKNOWN_REFERENCE else _weighted(rng, _BAG_COUNTS)
        n_bags = min(n_bags, ready + (anomaly == A.PAYOUT_ACCOUNT_BLOCKED))
        n_bags = max(n_bags, len(chosen))
        tries = 0
        while len(chosen) < n_bags:
            pick = catalog.pool[int(ready * rng.random() ** 1.6)]
            tries += 1
            if pick not in chosen:
                chosen.append(pick)
            elif tries > 50:
                chosen.append(next(p for p in catalog.pool[:ready] if p not in chosen))
        for pos, m in enumerate(chosen):
            bag = Bag(pos, ids.bag_index(i, pos), catalog.merchants[m])
            self._fill_bag(o, bag, country, rng)
            o.bags.append(bag)

        o.fix_amounts()
        prepare(o)
        total = o.total
        amount = total
        if anomaly == A.CAPTURE_AMOUNT_MISMATCH:
            delta = _between(rng, 1, 99) * (1 if rng.random() < 0.5 else -1)
            amount = total + delta if total + delta > 0 else total + abs(delta)
        o.payment = Payment(o, amount, ids.token(rng, "pi_", 24))
        if o.capture_method == "CUSTOM":
            o.submit_s = t + _between(rng, 1, 8)
            o.capture_s = t + _between(rng, 2 * clock.HOUR, 5 * clock.HOUR)
        else:
            o.capture_s = o.submit_s = t + _between(rng, 1, 8)
            if anomaly is None and rng.random() < 0.01 and o.capture_s + 10 <= self.as_of:
                o.variant = "payment_failed"
                o.captured = False
                o.fail_order_s = o.capture_s + _between(rng, 1, 5)
                return o
        o.captured = anomaly not in A.UNCAPTURED_KINDS
        for bag in o.bags:
            self._plan_bag(o, bag, rng)
        return o

    def _unbatched_merchant(self, rng: random.Random, ready: int, i: int) -> int:
        """A ready merchant paid per bag (an anomaly's first bag must not be batched)."""
        catalog = self.catalog
        for _ in range(50):
            pick = catalog.pool[int(ready * rng.random() ** 1.6)]
            if not catalog.merchants[pick].batched:
                return pick
        for pick in catalog.pool[:ready]:
            if not catalog.merchants[pick].batched:
                return pick
        raise RuntimeError(f"no merchant paid per bag is ready for anomalous order {i}")

    def _fill_bag(self, o: Order, bag: Bag, country: str, rng: random.Random) -> None:
        m = bag.merchant
        n_lines = min(_between(rng, 1, 3), len(m.offers))
        line_base = ids.ORDER_SKU_BASE + o.index * 16 + bag.pos * 4
        sub = 0
        for line, offer in enumerate(rng.sample(m.offers, n_lines)):
            sku = rng.choice(offer.skus)
            qty = _weighted(rng, _QUANTITIES)
            price = money.convert_from_usd_cents(sku.usd_cents, o.currency)
            bag.skus.append(
                {
                    "id": line_base + line,
                    "sku_id": sku.sku_id,
                    "offer_id": offer.offer_id,
                    "name": sku.name,
                    "quantity": qty,
                    "price": price,
                    "line_price": price * qty,
                }
            )
            sub += price * qty
        free_over = money.convert_from_usd_cents(7500, o.currency)
        shipping = 0
        if sub < free_over:
            shipping = money.convert_from_usd_cents(rng.choice((499, 699, 999)), o.currency)
        discount = 0
        if rng.random() < 0.12:
            discount = sub * rng.choice((5, 10, 15, 20)) // 100
        tax = money.part(sub - discount, rng.choice(money.TAX_BP[country]))
        bag.sub_total, bag.shipping_total, bag.tax_total, bag.discount_total = (
            sub,
            shipping,
            tax,
            discount,
        )
        bag.total = sub + shipping + tax - discount
        bag.merchant_amount = money.merchant_amount(sub, tax, shipping, discount, m.commission_bp)
        bag.carrier = rng.choice(_CARRIERS)
        bag.tracking = ids.token(rng, "1Z", 16)

    def _plan_bag(self, o: Order, bag: Bag, rng: random.Random) -> None:
        custom = o.capture_method == "CUSTOM"
        bag.decide_s = (o.auth_s if custom else o.capture_s) + _between(rng, 120, 1800)
        if o.anomaly is None and not custom and rng.random() < 0.015:
            return  # rejected by the merchant
        bag.accepted = True
        bag.ship_s = bag.decide_s + _between(rng, 6 * clock.HOUR, 12 * clock.HOUR)
        bag.deliver_s = bag.ship_s + _between(rng, 2 * clock.HOUR, 16 * clock.HOUR)
        bag.complete_s = bag.deliver_s + _between(rng, 10 * clock.MINUTE, 2 * clock.HOUR)
        if o.anomaly is None:
            x = rng.random()
            bag.post = next((fate for fate, limit in _FATES if x < limit), None)
        elif o.anomaly in (A.REVERSAL_MISSING, A.REVERSAL_FAILED) and bag.pos == 0:
            bag.post = "cancel"
        if bag.post is None:
            return
        # Everything the fate needs is drawn now; when a cancellation happens depends on how
        # the bag is paid (simulator.orders phase 3).
        bag.cancel_u = rng.random()
        bag.reversal_delay_s = _between(rng, 60, 30 * clock.MINUTE)
        if bag.post == "cancel":
            bag.refund_amount = bag.total
            bag.reversal_amount = bag.merchant_amount
            return
        bag.post_s = bag.complete_s + _between(rng, clock.HOUR, 12 * clock.HOUR)
        if bag.post == "return":
            bag.return_s = bag.post_s - _between(rng, 10 * clock.MINUTE, clock.HOUR)
        if bag.post == "refund_partial":
            units = sum(s["quantity"] for s in bag.skus)
            goods = bag.skus[0]["price"] if units > 1 else bag.sub_total // 2
            # Goods money only, at most half the discounted goods: always less than the
            # merchant amount (the reversal never takes back a whole transfer).
            goods = max(1, min(goods, (bag.sub_total - bag.discount_total) // 2))
            bag.refund_amount = goods
            bag.reversal_amount = money.partial_reversal(goods, bag.commission_bp)
        else:
            bag.refund_amount = bag.total
            bag.reversal_amount = bag.merchant_amount

    # -- phase 2: transfers ----------------------------------------------------------------------

    def plan_transfers(self, orders: list[Order]) -> list[Transfer]:
        rng = ids.rng_for(self.plan.seed, ids.STREAM_CHUNK, self.chunk)
        per_bag: list[tuple[Order, Bag]] = []
        batched: dict[int, list[tuple[Order, Bag]]] = {}
        for o in orders:
            if not o.captured or o.transfer_method == "DISABLED":
                continue
            for bag in o.bags:
                if not bag.accepted or (o.anomaly == A.TRANSFER_MISSING and bag.pos == 0):
                    continue
                if bag.merchant.batched:
                    batched.setdefault(bag.merchant.ordinal, []).append((o, bag))
                else:
                    per_bag.append((o, bag))
        transfers: list[Transfer] = []
        for ordinal in sorted(batched):
            batches = self._batches(self.catalog.merchants[ordinal], batched[ordinal])
            if batches is None:
                per_bag.extend(batched[ordinal])  # paid per bag in this chunk
            else:
                transfers.extend(batches)
        per_bag.sort(key=lambda ob: ob[1].index)
        singles: list[Transfer] = []
        for o, bag in per_bag:
            t = Transfer(bag, o.currency, max(bag.decide_s, o.capture_s) + _between(rng, 60, 3600))
            t.lines.append((bag, bag.merchant_amount))
            bag.transfer = t
            if bag.pos == 0 and o.anomaly in A.DEDICATED_TRANSFER_KINDS:
                t.anomaly = o.anomaly
            singles.append(t)
        transfers = singles + transfers
        for t in transfers:
            t.amount = sum(amount for _, amount in t.lines)
            t.provider_id = ids.token(rng, "tr_", 24)
            form = rng.random()
            t.related_form = "int" if form < 0.1 else "new" if form < 0.2 else "str"
            if t.anomaly == A.TRANSFER_AMOUNT_MISMATCH:
                t.amount += _between(rng, 1, 5) * (1 if rng.random() < 0.5 else -1)
            if t.anomaly == A.TRANSFER_FAILED:
                t.outcome = "failed"
            elif t.anomaly == A.PAYOUT_ACCOUNT_BLOCKED:
                t.outcome = "pending"
            elif t.anomaly == A.TRANSFER_PARTIALLY_SENT:
                t.outcome = "partial"
            elif (
                t.anomaly is None
                and not t.batch
                and rng.random() < 0.02
                and t.created_s + 2 * clock.HOUR + 60 <= self.as_of
            ):
                t.outcome = "retried"
                t.retry_s = t.created_s + _between(rng, 30 * clock.MINUTE, 2 * clock.HOUR)
            t.sent_s = {"sent": t.created_s, "partial": t.created_s, "retried": t.retry_s}.get(
                t.outcome
            )
            t.changes.append((t.created_s, 0, "create", None, None))
            if t.outcome == "retried":
                t.changes.append((t.retry_s, 1, "retry", None, None))
        return transfers

    def _batch_times(self, m: Merchant) -> list[int]:
        plan = self.plan
        first = plan.start_s - plan.start_s % clock.DAY + BATCH_HOUR_S + m.batch_offset_s
        return [at for at in range(first, plan.as_of_s + 1, clock.DAY) if at >= plan.start_s]

    def _batches(self, m: Merchant, entries: list[tuple[Order, Bag]]) -> list[Transfer] | None:
        """The scheduled transfers of batched merchant `m` in this chunk (`entries`: its owed
        bags), or None when none of them would cover two bags (then it is paid per bag here)."""
        times = self._batch_times(m)

        def clear(at: int) -> int:
            for bt in times:
                if bt - _BATCH_MARGIN_S <= at < bt + _BATCH_MARGIN_S:
                    return bt + _BATCH_MARGIN_S
            return at

        for _, bag in entries:
            if bag.ship_s is not None:
                bag.ship_s = clear(bag.ship_s)
            if bag.post is not None and bag.post != "cancel" and bag.post_s is not None:
                bag.post_s = clear(bag.post_s)
        grace_s = int(self.plan.options.grace.scheduled_transfer_grace_days * clock.DAY)
        made: list[Transfer] = []
        for currency in sorted({o.currency for o, _ in entries}):
            # A cancelled bag is cancelled before shipping: never in a batch.
            bags = sorted(
                (b for o, b in entries if o.currency == currency and b.post != "cancel"),
                key=lambda b: b.index,
            )
            paid_at: dict[int, int] = {}
            netted: set[int] = set()
            for k, bt in enumerate(times):
                new: list[tuple[Bag, int]] = []
                netting: list[tuple[Bag, int]] = []
                for b in bags:
                    refunded = b.post is not None and b.post_s is not None and b.post_s < bt
                    paid = paid_at.get(b.index)
                    if paid is not None:
                        # Paid by an earlier batch and refunded since: nets into this one.
                        if refunded and b.index not in netted and (b.post_s or 0) > paid:
                            netting.append((b, -b.reversal_amount))
                        continue
                    if b.ship_s is None or b.ship_s >= bt:
                        continue
                    if refunded and b.full_refund:
                        continue  # refunded in full before it was ever paid: never owed
                    partial = b.reversal_amount if refunded else 0
                    new.append((b, b.merchant_amount - partial))
                if not new:
                    continue
                if sum(a for _, a in new) + sum(a for _, a in netting) <= 0:
                    last = k + 1 == len(times)  # the next batch is after as_of
                    due = self.as_of + _BATCH_MARGIN_S - grace_s
                    if not last or all(b.ship_s is None or b.ship_s > due for b, _ in new):
                        continue  # not made today: every line waits for the next batch
                    netting = []  # a bag would be overdue at as_of: the refunds wait instead
                t = Transfer(new[0][0], currency, bt, batch=True)
                t.lines = new + netting
                for b, _ in new:
                    paid_at[b.index] = bt
                    b.transfer = t
                netted.update(b.index for b, _ in netting)
                made.append(t)
        if not any(len({b.index for b in t.bags}) >= 2 for t in made):
            for t in made:
                for b in t.bags:
                    b.transfer = None
            return None
        # Kept batched: its cancellations happen before shipping, once captured.
        for o, bag in entries:
            if bag.post == "cancel" and bag.ship_s is not None:
                lo = max(bag.decide_s, o.capture_s) + 10 * clock.MINUTE
                hi = bag.ship_s - 10 * clock.MINUTE
                bag.post_s = lo + int(bag.cancel_u * max(0, hi - lo))
                bag.ship_s = bag.deliver_s = bag.complete_s = None
        return made

    # -- phase 3: what follows the transfer ----------------------------------------------------

    def plan_after_transfer(self, o: Order) -> None:
        for bag in o.bags:
            if bag.post is None:
                continue
            if bag.post == "cancel" and bag.post_s is None:
                # Paid per bag: cancelled 10-90 min (anomalies: 10-60 min) after the transfer
                # was sent, before shipping; without a sent transfer there is no cancellation.
                sent = bag.transfer.sent_s if bag.transfer is not None else None
                if sent is None:
                    bag.post = None
                    continue
                longest = 60 * clock.MINUTE if o.anomaly is not None else 90 * clock.MINUTE
                lo = 10 * clock.MINUTE
                bag.post_s = sent + lo + int(bag.cancel_u * (longest - lo))
                bag.ship_s = bag.deliver_s = bag.complete_s = None
            assert bag.post_s is not None
            bag.reversal_s = bag.post_s + bag.reversal_delay_s

    # -- phase 4: versions and events ------------------------------------------------------------

    def emit_order(self, o: Order) -> tuple[tuple[str, bytes] | None, tuple[str, bytes] | None]:
        """Apply the order's changes in time order; returns its final order body and payment,
        each with the first topic that announced it.

        Both are None for an order whose events are never delivered (UNKNOWN_REFERENCE).
        """
        changes: list[tuple[int, int, int, int]] = []

        def add(at: int | None, kind: int, pos: int = -1) -> None:
            if at is not None:
                changes.append((at, len(changes), kind, pos))

        add(o.auth_s, P_AUTHORIZE)
        if o.variant == "payment_failed":
            add(o.capture_s, P_FAIL)
            add(o.fail_order_s, O_FAIL)
        else:
            if o.anomaly == A.CAPTURE_FAILED:
                add(o.capture_s, P_FAIL)
            elif o.anomaly != A.CAPTURE_MISSING:
                add(o.capture_s, P_CAPTURE)
                if o.capture_method == "CUSTOM":
                    add(o.capture_s, O_PAID)
            add(o.submit_s, O_SUBMIT)
            for bag in o.bags:
                pos = bag.pos
                if not bag.accepted:
                    add(bag.decide_s, P_REFUND, pos)
                    add(bag.decide_s, O_REJECT, pos)
                    continue
                add(bag.decide_s, O_ACCEPT, pos)
                add(bag.ship_s, O_SHIP, pos)
                add(bag.deliver_s, O_DELIVER, pos)
                add(bag.complete_s, O_COMPLETE, pos)
                if bag.post is not None:
                    add(bag.return_s, O_RETURN, pos)
                    add(bag.post_s, P_REFUND, pos)
                    add(bag.post_s, O_CANCEL if bag.post == "cancel" else O_REFUND, pos)
        changes.sort()

        suppressed = o.anomaly == A.UNKNOWN_REFERENCE
        p = o.payment
        order_dlm = -1
        order_version = 0
        last_order: tuple[str, bytes] | None = None
        last_payment: tuple[str, bytes] | None = None
        shape = self.shape
        as_of = self.as_of
        for at, _, kind, pos in changes:
            changed = o.bags[pos] if pos >= 0 else None
            topics: tuple[str, ...]
            if kind < O_SUBMIT:
                dlm = max(at, p.dlm + 1)
                if dlm > as_of:
                    break
                p.dlm = dlm
                topic = self._apply_payment(o, kind, changed, at)
                body = payment_json(o, shape.formatter()).encode()
                last_payment = (topic, body)
                if not suppressed:
                    topics = (topic,)
                    if shape.beside():
                        topics = (topic, _PT + "UPDATED")
                    for tp in topics:
                        self.events.append(
                            Event(dlm, tp, PAYMENT_TRANSACTIONS, p.payment_id, p.version, body, ())
                        )
                p.version += 1
                continue
            dlm = max(at, order_dlm + 1)
            if dlm > as_of:
                break
            order_dlm = dlm
            specific = self._apply_order(o, kind, changed, at, dlm)
            body = order_body(o, shape.formatter(), dlm)
            if specific is None:
                topics = ("ORDER_UPDATED",)
            elif shape.beside():
                topics = (specific, "ORDER_UPDATED")
            else:
                topics = (specific,)
            last_order = (topics[0], body)
            if suppressed:
                continue
            header_bag = changed if changed is not None else o.bags[0]
            headers = (
                ("X-Violet-Order-Id", str(o.order_id)),
                ("X-Violet-Bag-Id", str(header_bag.bag_id)),
            )
            for tp in topics:
                self.events.append(Event(dlm, tp, ORDERS, o.order_id, order_version, body, headers))
            order_version += 1
        if suppressed:
            return None, None
        return last_order, last_payment

    def _apply_payment(self, o: Order, kind: int, bag: Bag | None, at: int) -> str:
        p = o.payment
        if kind == P_AUTHORIZE:
            return _PT + "AUTHORIZED"
        if kind == P_CAPTURE:
            p.status = "CAPTURED"
            return _PT + "CAPTURED"
        if kind == P_FAIL:
            p.status = "FAILED"
            p.errors = [
                {
                    "error_code": 2201,
                    "error_message": "card_declined: the card was declined at capture",
                    "date_created": at,
                }
            ]
            return _PT + "FAILED"
        # A refund: `amount` keeps the captured amount, the refund's id joins related_refunds.
        assert bag is not None
        amount = bag.total if not bag.accepted else bag.refund_amount
        refund_id = ids.REFUND_BASE + bag.index
        p.refund_ids.append(str(refund_id))
        p.refunded += amount
        if p.refunded >= p.amount:
            p.status = "REFUNDED"
            return _PT + "REFUNDED"
        p.status = "PARTIALLY_REFUNDED"
        return _PT + "PARTIALLY_REFUNDED"

    def _apply_order(self, o: Order, kind: int, bag: Bag | None, at: int, dlm: int) -> str | None:
        if kind == O_SUBMIT:
            financial = "PAID" if o.capture_method == "AUTOMATIC" else "AUTHORIZED"
            if o.anomaly == A.CAPTURE_MISSING:
                financial = "AUTHORIZED"
            elif o.anomaly == A.CAPTURE_FAILED:
                financial = "UNPAID"
            for b in o.bags:
                b.financial_status = financial
                b.changed_s = dlm
            return None
        if kind == O_PAID:  # a CUSTOM capture
            for b in o.bags:
                if b.financial_status == "AUTHORIZED":
                    b.financial_status = "PAID"
                    b.changed_s = dlm
            return None
        if kind == O_FAIL:
            for b in o.bags:
                b.status = "CANCELED"
                b.financial_status = "VOIDED"
                b.changed_s = dlm
            return "ORDER_FAILED"
        assert bag is not None
        bag.changed_s = dlm
        if kind == O_ACCEPT:
            bag.status = "ACCEPTED"
            bag.external_id = str(5_000_000_000 + bag.index)
        elif kind == O_REJECT:
            bag.status = "REJECTED"
            bag.financial_status = "REFUNDED"
            bag.refunds.append(Refund(ids.REFUND_BASE + bag.index, bag.total, 0, at, "REJECTED"))
        elif kind == O_SHIP:
            bag.fulfillment_status = "SHIPPED"
        elif kind == O_DELIVER:
            bag.fulfillment_status = "DELIVERED"
        elif kind == O_COMPLETE:
            bag.status = "COMPLETED"
        elif kind == O_RETURN:
            bag.fulfillment_status = "RETURNED"
        elif kind in (O_CANCEL, O_REFUND):
            partial = bag.post == "refund_partial"
            reason = {"cancel": "CANCELED", "return": "RETURNED"}.get(bag.post or "", "OTHER")
            refund = Refund(
                ids.REFUND_BASE + bag.index, bag.refund_amount, bag.reversal_amount, at, reason
            )
            bag.refunds.append(refund)
            if kind == O_CANCEL:
                bag.status = "CANCELED"
            else:
                bag.status = "PARTIALLY_REFUNDED" if partial else "REFUNDED"
            bag.financial_status = "PARTIALLY_REFUNDED" if partial else "REFUNDED"
            self._schedule_reversal(o, bag, refund)
            if kind == O_CANCEL:
                return self.shape.spelling("ORDER_CANCELLED", "ORDER_CANCELED")
        return _ORDER_TOPIC[kind]

    def _schedule_reversal(self, o: Order, bag: Bag, refund: Refund) -> None:
        t = bag.transfer
        if t is None or t.batch or o.anomaly == A.REVERSAL_MISSING:
            return  # batches are never reversed: the refund nets into the next batch
        kind = "reversal_failed" if o.anomaly == A.REVERSAL_FAILED else "reverse"
        t.changes.append((bag.reversal_s, len(t.changes), kind, bag, refund))

    # -- transfers -------------------------------------------------------------------------------

    def emit_transfer(self, t: Transfer) -> Final | None:
        shape = self.shape
        dlm = -1
        last: Final | None = None
        changes = sorted(t.changes, key=lambda c: (c[0], c[1]))
        for version, (at, _, kind, bag, refund) in enumerate(changes):
            dlm = max(at, dlm + 1)
            if dlm > self.as_of:
                break
            if kind == "create":
                if t.outcome == "failed" or t.outcome == "retried":
                    t.status = "FAILED"
                    t.errors = [_transfer_error(A.TRANSFER_FAILED_CODE, at, None)]
                    topic = "TRANSFER_FAILED"
                elif t.outcome == "pending":
                    t.status = "PENDING"
                    topic = "TRANSFER_UPDATED"
                elif t.outcome == "partial":
                    t.status = "SENT"  # only part reached the merchant; never completed
                    topic = "TRANSFER_PARTIALLY_SENT"
                else:
                    t.status = "SENT"
                    topic = "TRANSFER_SENT"
            elif kind == "retry":
                t.status = "SENT"  # the failure's error item stays in errors[]
                topic = "TRANSFER_SENT"
            elif kind == "reverse":
                assert bag is not None
                t.reversals.append(str(ids.REVERSAL_BASE + bag.index))
                done = set(t.reversals)
                reversed_total = sum(
                    b.reversal_amount for b in t.bags if str(ids.REVERSAL_BASE + b.index) in done
                )
                if reversed_total >= t.amount:
                    t.status = "REVERSED"
                    topic = "TRANSFER_REVERSED"
                else:
                    t.status = "PARTIALLY_REVERSED"
                    topic = shape.spelling(
                        "TRANSFER_PARTIALLY_REVERSED", "TRANSFER_PARTIALLY_REFUNDED"
                    )
            else:
                assert refund is not None
                t.errors = [*t.errors, _transfer_error(A.REVERSAL_FAILED_CODE, at, refund)]
                topic = "TRANSFER_REVERSAL_FAILED"
            payload = transfer_payload(t, shape.formatter(), dlm, self.api)
            last = (topic, payload)
            self.events.append(
                Event(dlm, topic, TRANSFERS, t.transfer_id, version, dumps(payload), ())
            )
        return last

    # -- phase 5: what finance must find -------------------------------------------------------

    def expected(self, o: Order) -> A.ExpectedException:
        kind = o.anomaly
        assert kind is not None
        bag = o.bags[0]
        t = bag.transfer
        total = o.total
        cur = o.currency
        oid, bid, mid = o.order_id, bag.bag_id, bag.merchant.merchant_id
        pid = o.payment.payment_id
        E = A.ExpectedException
        self._check_happened(o)
        if kind == A.CAPTURE_MISSING:
            amount = o.payment.amount
            detail = f"payment {pid} authorized {clock.iso(o.auth_s)}, never captured"
            return E(kind, cur, amount, -amount, oid, None, None, None, detail)
        if kind == A.CAPTURE_FAILED:
            detail = f"payment {pid} capture failed {clock.iso(o.capture_s)}; order not cancelled"
            return E(kind, cur, total, None, oid, None, None, None, detail)
        if kind == A.CAPTURE_AMOUNT_MISMATCH:
            diff = o.payment.amount - total
            detail = f"captured {o.payment.amount} for an order total of {total} ({diff:+d})"
            return E(kind, cur, abs(diff), diff, oid, None, None, None, detail)
        if kind == A.TRANSFER_MISSING:
            amount = bag.merchant_amount
            detail = f"bag accepted {clock.iso(bag.decide_s)}, captured, never transferred"
            return E(kind, cur, amount, -amount, oid, bid, mid, None, detail)
        assert t is not None
        tid = t.transfer_id
        if kind == A.TRANSFER_FAILED:
            detail = f"transfer failed {clock.iso(t.created_s)}, never retried"
            return E(kind, cur, t.amount, None, oid, bid, mid, tid, detail)
        if kind == A.TRANSFER_PARTIALLY_SENT:
            detail = f"transfer partially sent {clock.iso(t.created_s)}, never completed"
            return E(kind, cur, t.amount, None, oid, bid, mid, tid, detail)
        if kind == A.TRANSFER_AMOUNT_MISMATCH:
            diff = t.amount - bag.merchant_amount
            detail = f"transferred {t.amount}, merchant amount {bag.merchant_amount} ({diff:+d})"
            return E(kind, cur, abs(diff), diff, oid, bid, mid, tid, detail)
        if kind == A.REVERSAL_MISSING:
            detail = f"bag cancelled {clock.iso(bag.post_s or 0)}, transfer never reversed"
            return E(kind, cur, t.amount, -t.amount, oid, bid, mid, tid, detail)
        if kind == A.REVERSAL_FAILED:
            detail = f"reversal for the refund of {clock.iso(bag.post_s or 0)} failed"
            return E(kind, cur, t.amount, None, oid, bid, mid, tid, detail)
        if kind == A.UNKNOWN_REFERENCE:
            detail = f"transfer names order {oid} / bag {bid}, never delivered"
            return E(kind, cur, t.amount, None, oid, bid, mid, tid, detail)
        detail = f"transfer pending to payout account {t.merchant.payout_account_id}, blocked"
        return E(kind, cur, t.amount, None, oid, bid, mid, tid, detail)

    def _check_happened(self, o: Order) -> None:
        """The anomaly window guarantees this; a failure here is a bug in the plan."""
        bag = o.bags[0]
        last = o.capture_s
        t = bag.transfer
        if o.anomaly in (
            A.TRANSFER_MISSING,
            A.TRANSFER_FAILED,
            A.TRANSFER_PARTIALLY_SENT,
            A.TRANSFER_AMOUNT_MISMATCH,
        ):
            last = bag.decide_s if t is None else t.created_s
        elif o.anomaly in (A.REVERSAL_MISSING, A.REVERSAL_FAILED):
            last = bag.reversal_s
        elif o.anomaly in (A.UNKNOWN_REFERENCE, A.PAYOUT_ACCOUNT_BLOCKED):
            last = t.created_s if t is not None else self.as_of + 1
        wrong_shape = (
            not bag.accepted
            or bag.merchant.batched
            or o.capture_method != "AUTOMATIC"
            or o.transfer_method != "AUTOMATIC"
            or (o.anomaly in A.DEDICATED_TRANSFER_KINDS and (t is None or len(t.lines) != 1))
        )
        if last > self.plan.anomaly_end_s + 4 * clock.HOUR or wrong_shape:
            raise RuntimeError(
                f"anomaly {o.anomaly} of order {o.index} falls outside its window or shape"
            )


def _transfer_error(code: int, at: int, refund: Refund | None) -> dict[str, Any]:
    if refund is None:
        message = "Stripe transfer failed: insufficient available balance on the platform"
        return {"error_code": code, "error_message": message, "date_created": at}
    return {
        "error_code": code,
        "error_message": "Stripe transfer reversal failed: connected account balance too low",
        "refund_id": refund.refund_id,  # rendered only with api_fields
        "date_created": at,
    }


def _people(
    rng: random.Random, i: int, country: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    customer = {
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{i}@example.com",
    }
    city, state = _CITIES[country]
    address = {
        "name": f"{first} {last}",
        "address_1": f"{_between(rng, 1, 999)} {rng.choice(_STREETS)}",
        "city": city,
        "state": state,
        "postal_code": f"{_between(rng, 10000, 99999)}",
        "country": country,
    }
    billing = address if rng.random() < 0.8 else {**address, "address_1": "PO Box 12"}
    return customer, address, billing


def simulate(plan: WorldPlan, catalog: Catalog, chunk: int) -> ChunkWorld:
    """Every order of `chunk`, their payments and the chunk's transfers, as events and finals."""
    sim = _Chunk(plan, catalog, chunk)
    anomalies = plan.anomalies_in(chunk)
    orders = [sim.new_order(i, anomalies.get(i)) for i in plan.chunk_range(chunk)]
    transfers = sim.plan_transfers(orders)
    for o in orders:
        sim.plan_after_transfer(o)
    final_orders: list[tuple[str, bytes]] = []
    final_payments: list[tuple[str, bytes]] = []
    for o in orders:
        order, payment = sim.emit_order(o)
        if order is not None:
            final_orders.append(order)
        if payment is not None:
            final_payments.append(payment)
    final_transfers = [p for p in (sim.emit_transfer(t) for t in transfers) if p is not None]
    expected = [sim.expected(o) for o in orders if o.anomaly is not None]
    return ChunkWorld(sim.events, final_orders, final_payments, final_transfers, expected)
