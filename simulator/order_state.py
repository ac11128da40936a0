"""The mutable state of orders, bags, payment transactions and transfers while a chunk runs.

`simulator.orders` drives these through their lifecycles; `simulator.order_payloads` renders them
as Violet payloads. Times are epoch seconds.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from simulator import ids
from simulator.catalog import Merchant
from simulator.clock import Formatter


class Refund(NamedTuple):
    """A completed bag refund (Violet keeps refunds per bag)."""

    refund_id: int
    amount: int
    reversal: int  # merchant_transfer_reversal_amount
    at: int
    reason: str


class Bag:
    """One merchant's part of an order, with its planned future (times are None if never)."""

    __slots__ = (
        "accepted",
        "cache",
        "cache_key",
        "cancel_u",
        "carrier",
        "changed_s",
        "commission_bp",
        "complete_s",
        "decide_s",
        "deliver_s",
        "discount_total",
        "external_id",
        "financial_status",
        "fulfillment_status",
        "head",
        "index",
        "merchant",
        "merchant_amount",
        "pos",
        "post",
        "post_s",
        "refund_amount",
        "refunds",
        "return_s",
        "reversal_amount",
        "reversal_delay_s",
        "reversal_s",
        "ship_s",
        "shipping_total",
        "skus",
        "skus_json",
        "status",
        "sub_total",
        "tail",
        "tax_total",
        "total",
        "tracking",
        "transfer",
    )

    def __init__(self, pos: int, index: int, merchant: Merchant) -> None:
        self.pos = pos
        self.index = index
        self.merchant = merchant
        self.skus: list[dict[str, Any]] = []
        self.sub_total = self.shipping_total = self.tax_total = self.discount_total = 0
        self.total = self.merchant_amount = 0
        self.commission_bp = merchant.commission_bp
        self.status = "SUBMITTED"
        self.fulfillment_status = "PROCESSING"
        self.financial_status = "PAID"
        self.external_id: str | None = None
        self.refunds: list[Refund] = []
        self.changed_s = 0
        self.accepted = False
        self.decide_s = 0
        self.ship_s: int | None = None
        self.deliver_s: int | None = None
        self.complete_s: int | None = None
        self.post: str | None = None
        self.post_s: int | None = None
        self.return_s: int | None = None
        self.reversal_s = 0
        self.reversal_delay_s = 0  # from the refund to its transfer reversal (per-bag transfers)
        self.cancel_u = 0.0  # where in its window a "cancel" fate falls (drawn up front)
        self.refund_amount = 0
        self.reversal_amount = 0
        self.carrier = ""
        self.tracking = ""
        self.transfer: Transfer | None = None  # the first transfer covering it
        # Rendering cache (simulator.order_payloads): a bag's JSON changes only when it does.
        self.cache_key: tuple[int, Formatter] | None = None
        self.cache = ""
        self.head = self.skus_json = self.tail = ""

    @property
    def bag_id(self) -> int:
        return ids.BAG_BASE + self.index

    @property
    def full_refund(self) -> bool:
        """Whether its post-acceptance fate takes back the whole bag."""
        return self.post is not None and self.post != "refund_partial"


class Order:
    """An order: static content plus the plan of when its payment and bags change."""

    __slots__ = (
        "amounts",
        "anomaly",
        "api_fields",
        "app_customer_id",
        "auth_s",
        "bags",
        "billing",
        "capture_method",
        "capture_s",
        "captured",
        "created_s",
        "currency",
        "customer",
        "fail_order_s",
        "head",
        "index",
        "order_id",
        "payment",
        "rng",
        "shipping",
        "submit_s",
        "tail",
        "transfer_method",
        "variant",
    )

    app_customer_id: str
    auth_s: int
    billing: dict[str, Any]
    capture_s: int
    created_s: int
    currency: str
    customer: dict[str, Any]
    payment: Payment
    shipping: dict[str, Any]
    submit_s: int  # when the order is submitted to its merchants (its first order version)

    def __init__(
        self, index: int, anomaly: str | None, rng: random.Random, api_fields: bool
    ) -> None:
        self.index = index
        self.api_fields = api_fields
        self.capture_method = "AUTOMATIC"  # or CUSTOM: captured hours later
        self.transfer_method = "AUTOMATIC"  # or DISABLED: nothing is ever transferred
        self.order_id = ids.ORDER_BASE + index
        self.anomaly = anomaly
        self.rng = rng
        self.bags: list[Bag] = []
        self.variant = "ok"
        self.captured = True
        self.fail_order_s = 0
        self.amounts = (0, 0, 0, 0, 0)
        self.head = self.tail = ""  # static JSON around the changing parts

    def fix_amounts(self) -> None:
        """(sub_total, shipping_total, tax_total, discount_total, total), summed over bags."""
        bags = self.bags
        self.amounts = (
            sum(b.sub_total for b in bags),
            sum(b.shipping_total for b in bags),
            sum(b.tax_total for b in bags),
            sum(b.discount_total for b in bags),
            sum(b.total for b in bags),
        )

    @property
    def total(self) -> int:
        return self.amounts[4]

    def status(self) -> str:
        statuses = [b.status for b in self.bags]
        active = [s for s in statuses if s not in ("REJECTED", "CANCELED")]
        if not active:
            return "CANCELED" if "CANCELED" in statuses else "REJECTED"
        if "SUBMITTED" in active:
            return "PROCESSING"
        if all(s == "REFUNDED" for s in active):
            return "REFUNDED"
        if any(s in ("REFUNDED", "PARTIALLY_REFUNDED") for s in active):
            return "PARTIALLY_REFUNDED"
        if all(s == "COMPLETED" for s in active):
            return "COMPLETED"
        return "ACCEPTED"


class Payment:
    """The order's one payment transaction; `dlm` is its current version's date."""

    __slots__ = (
        "amount",
        "cache",
        "cache_key",
        "capture_method",
        "created_s",
        "dlm",
        "errors",
        "last",
        "order_id",
        "payment_id",
        "provider_id",
        "refund_ids",
        "refunded",
        "status",
        "transfer_method",
        "version",
    )

    def __init__(self, order: Order, amount: int, provider_id: str) -> None:
        self.capture_method = order.capture_method
        self.transfer_method = order.transfer_method
        self.payment_id = ids.PAYMENT_BASE + order.index
        self.order_id = order.order_id
        self.amount = amount
        self.provider_id = provider_id
        self.status = "AUTHORIZED"
        self.created_s = order.auth_s
        self.refund_ids: list[str] = []
        self.refunded = 0
        self.errors: list[dict[str, Any]] = []
        self.dlm = -1
        self.version = 0
        self.last: bytes | None = None  # body of the newest version
        self.cache_key: tuple[int, Formatter] | None = None
        self.cache = ""


class Transfer:
    """A transfer to one merchant: one bag, or a scheduled batch of its bags (one currency).

    `lines` are what it covers, in order, with each line's contribution to `amount`: a bag paid
    for the first time (its merchant amount, less a partial refund made before the batch), or,
    in a batch, a bag paid by an earlier batch and refunded since (minus the reversal).
    """

    __slots__ = (
        "amount",
        "anomaly",
        "batch",
        "changes",
        "created_s",
        "currency",
        "errors",
        "lines",
        "merchant",
        "outcome",
        "provider_id",
        "related_form",
        "retry_s",
        "reversals",
        "sent_s",
        "status",
        "transfer_id",
    )

    def __init__(self, first: Bag, currency: str, created_s: int, batch: bool = False) -> None:
        # A bag is paid for the first time by exactly one transfer: ids never collide.
        self.transfer_id = ids.TRANSFER_BASE + first.index
        self.merchant = first.merchant
        self.currency = currency
        self.created_s = created_s
        self.batch = batch
        self.lines: list[tuple[Bag, int]] = []
        self.anomaly: str | None = None
        self.amount = 0
        self.outcome = "sent"
        self.retry_s = 0
        self.sent_s: int | None = None
        self.status = "SENT"
        self.errors: list[dict[str, Any]] = []
        self.reversals: list[str] = []
        self.provider_id = ""
        self.related_form = "str"  # related ids as strings, "int" integers, "new" *_ids names
        # (at, seq, kind, bag, refund); kinds: "create", "retry", "reverse", "reversal_failed"
        self.changes: list[tuple[int, int, str, Bag | None, Refund | None]] = []

    @property
    def bags(self) -> list[Bag]:
        return [b for b, _ in self.lines]
