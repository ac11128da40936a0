"""A small Violet world written by hand: documented webhook bodies only (violet-webhooks.md),
sealed into the raw layout by the ingest package's own sealing code, then built by the same
functions the assets call. Each finance rule test states its world in a few lines.

Times are hours after T0; every version gets its own date_last_modified. Nothing optional is
sent unless a test says so (`extra=`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from ingest.records import RawRecord
from ingest.sealer import seal
from pipelines.core import build as core_build
from pipelines.finance.build import build_finance
from pipelines.resources import FinanceSettings
from pipelines.staging import build as staging_build
from warehouse_files import layout

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def ts(hours: float) -> str:
    """T0 + hours as Violet writes it (`+0000` spelling)."""
    return (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class Bag:
    id: int
    order_id: int
    merchant_id: int
    sub_total: int = 10_000
    tax_total: int = 0
    shipping_total: int = 0
    discount_total: int = 0
    commission_rate: float = 10.0
    currency: str = "USD"
    status: str = "ACCEPTED"
    fulfillment_status: str = "PROCESSING"
    financial_status: str = "PAID"

    @property
    def total(self) -> int:
        return self.sub_total + self.tax_total + self.shipping_total - self.discount_total

    @property
    def expected(self) -> int:
        """The merchant's share (commission half up, as finance computes it)."""
        commission = (self.sub_total * round(self.commission_rate * 100) + 5000) // 10_000
        return self.total - commission


@dataclass
class Order:
    id: int
    bags: list[Bag]
    payment_id: int
    capture_status: str = "CAPTURED"
    capture_method: str = "AUTOMATIC"
    transfer_method: str = "AUTOMATIC"
    status: str = "ACCEPTED"
    related_refunds: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(b.total for b in self.bags)


@dataclass
class World:
    """Deliveries in send order; `build` seals and loads them into `path`."""

    root: Path
    records: list[RawRecord] = field(default_factory=list)
    clock: dict[tuple[str, int], float] = field(default_factory=dict)

    def send(self, topic: str, body: dict[str, Any]) -> None:
        raw = json.dumps(body, separators=(",", ":")).encode()
        n = len(self.records)
        self.records.append(
            RawRecord(
                delivery_id=f"evt-{n}",
                source_event_id=None,
                topic=topic,
                webhook_id="wh-1",
                order_id=None,
                bag_id=None,
                headers=json.dumps({"x-violet-topic": topic}),
                body=raw,
                secret_id="primary",
                received_at_us=int((T0 + timedelta(hours=200)).timestamp() * 1e6) + n,
                sequence=n,
            )
        )

    def _dlm(self, kind: str, entity_id: int, at: float) -> str:
        # versions of one entity are strictly increasing, at least a second apart
        last = self.clock.get((kind, entity_id))
        if last is not None and at <= last:
            at = last + 1 / 3600
        self.clock[(kind, entity_id)] = at
        return ts(at)

    # -- documented bodies --------------------------------------------------------------------

    def merchant(self, merchant_id: int, at: float = 0) -> None:
        self.send(
            "MERCHANT_CONNECTED",
            {
                "id": merchant_id,
                "merchant_name": f"Merchant {merchant_id}",
                "platform": "SHOPIFY",
                "store_url": f"https://m{merchant_id}.example.com",
                "status": "CONNECTED",
                "connection_status": "CONNECTED",
                "default_currency": "USD",
                "commission_rate": 10.0,
                "date_created": ts(at),
                "date_last_modified": self._dlm("merchant", merchant_id, at),
            },
        )

    def payout_account(
        self, account_id: int, merchant_id: int, at: float = 0, *, active: bool = True
    ) -> None:
        self.send(
            "MERCHANT_PAYOUT_ACCOUNT_ACTIVATED" if active else "MERCHANT_PAYOUT_ACCOUNT_CREATED",
            {
                "id": account_id,
                "merchant_id": merchant_id,
                "app_id": 11,
                "is_active": active,
                "country_code": "US",
                "payment_provider": "STRIPE",
                "payment_provider_account_id": f"acct_{account_id}",
                "payment_provider_account": {
                    "account_type": "EXPRESS",
                    "charges_enabled": active,
                    "payouts_enabled": active,
                    "banking_currency": "usd",
                    "requirements": {
                        "currently_due": [],
                        "past_due": [],
                        "eventually_due": [],
                        "pending_verification": [],
                        "errors": [],
                    },
                },
                "errors": [],
                "date_created": ts(at),
                "date_last_modified": self._dlm("payout_account", account_id, at),
            },
        )

    def _payment(self, o: Order, at: float, dlm: str) -> dict[str, Any]:
        return {
            "id": o.payment_id,
            "order_id": o.id,
            "related_bags": [str(b.id) for b in o.bags],
            "related_refunds": list(o.related_refunds),
            "payment_provider": "STRIPE",
            "payment_provider_transaction_id": f"pi_{o.payment_id}",
            "amount": o.total,
            "currency": "USD",
            "capture_status": o.capture_status,
            "capture_method": o.capture_method,
            "transfer_status": "PENDING",
            "transfer_method": o.transfer_method,
            "metadata": {},
            "errors": [],
            "date_created": ts(0),
            "date_last_modified": dlm,
        }

    def order(self, o: Order, at: float, topic: str = "ORDER_UPDATED") -> None:
        """One version of the order (all its bags and its payment as they are now)."""
        dlm = self._dlm("order", o.id, at)
        bags: list[dict[str, Any]] = [
            {
                "id": b.id,
                "order_id": o.id,
                "merchant_id": b.merchant_id,
                "app_id": 11,
                "external_id": None,
                "status": b.status,
                "fulfillment_status": b.fulfillment_status,
                "financial_status": b.financial_status,
                "dispute_status": "UNDISPUTED",
                "skus": [],
                "fulfillments": [],
                "sub_total": b.sub_total,
                "shipping_total": b.shipping_total,
                "tax_total": b.tax_total,
                "discount_total": b.discount_total,
                "total": b.total,
                "commission_rate": b.commission_rate,
                "currency": b.currency,
                "date_created": ts(0),
                "date_last_modified": dlm,
            }
            for b in o.bags
        ]
        payment_dlm = self._dlm("payment", o.payment_id, at)
        self.send(
            topic,
            {
                "id": o.id,
                "app_id": 11,
                "bags": bags,
                "payment_transactions": [self._payment(o, at, payment_dlm)],
                "sub_total": sum(b.sub_total for b in o.bags),
                "shipping_total": sum(b.shipping_total for b in o.bags),
                "tax_total": sum(b.tax_total for b in o.bags),
                "discount_total": sum(b.discount_total for b in o.bags),
                "total": o.total,
                "currency": "USD",
                "status": o.status,
                "channel": "APP",
                "errors": [],
                "date_created": ts(0),
                "date_last_modified": dlm,
            },
        )

    def transfer(
        self,
        transfer_id: int,
        account_id: int,
        amount: int,
        covers: list[Bag],
        at: float,
        *,
        status: str = "SENT",
        topic: str = "TRANSFER_SENT",
        created: float | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        orders: list[str] = []
        for b in covers:
            if str(b.order_id) not in orders:
                orders.append(str(b.order_id))
        self.send(
            topic,
            {
                "id": transfer_id,
                "payment_provider_id": f"tr_{transfer_id}",
                "payout_account_id": account_id,
                "amount": amount,
                "currency": "USD",
                "status": status,
                "payment_provider": "STRIPE",
                "related_orders": orders,
                "related_bags": [str(b.id) for b in covers],
                "errors": errors or [],
                "date_created": ts(at if created is None else created),
                "date_last_modified": self._dlm("transfer", transfer_id, at),
                **(extra or {}),
            },
        )

    # -- building ---------------------------------------------------------------------------

    def build(self, as_of_hours: float, **settings: Any) -> duckdb.DuckDBPyConnection:
        """Seal every delivery, build staging, core and finance at T0 + as_of_hours."""
        raw = layout.raw_dir(self.root)
        existing = len(list(raw.rglob("*.parquet"))) if raw.exists() else 0
        if self.records:
            seal(self.records, raw, "handmade", existing + 1)
            self.records = []
        con = duckdb.connect(str(self.root / "warehouse.duckdb"))
        while staging_build.load_staging(con, raw).pending_files:
            pass
        core_build.build_core(con)
        as_of = (T0 + timedelta(hours=as_of_hours)).isoformat()
        build_finance(con, FinanceSettings(as_of=as_of, **settings))
        return con


def exceptions(con: duckdb.DuckDBPyConnection) -> Counter[tuple[Any, ...]]:
    """The open queue as (kind, amount, difference, order, bag, merchant, transfer)."""
    return Counter(
        con.execute(
            "select kind, amount_minor, difference_minor, order_id, bag_id, merchant_id, "
            "transfer_id from finance.exceptions"
        ).fetchall()
    )


def settlement(con: duckdb.DuckDBPyConnection, bag_id: int) -> dict[str, Any]:
    cur = con.execute("select * from finance.bag_settlements where bag_id = ?", [bag_id])
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    assert row is not None, f"bag {bag_id} has no settlement row"
    return dict(zip(names, row, strict=True))
