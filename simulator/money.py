"""Money in integer minor units, and the one rounding rule the simulated world uses.

Every amount is an `int` of minor units (cents; yen for JPY). Nothing here touches a float.

Rates (commission, tax) are integer **basis points** (1 bp = 0.01 %). A Violet `commission_rate`
of `15.0` (percent) is 1500 bp; payloads carry the percentage with at most two decimals, so
`round(commission_rate * 100)` recovers the basis points exactly.

**Rounding rule (the only one): round half up, on integer arithmetic.**

    part(amount, bp) = (amount * bp + 5000) // 10000

so 0.5 of a minor unit rounds up (all amounts here are non-negative). From it:

    commission      = part(bag.sub_total, commission_bp)
    merchant_amount = sub_total + tax_total + shipping_total - discount_total - commission
    tax_total       = part(sub_total - discount_total, tax_bp)

`merchant_amount` is what Violet owes the merchant for a bag (violet-webhooks.md, money flow 2):
the amount of a transfer is the sum of `merchant_amount` over the bags it covers.

Refunds take money back from the merchant's transfer (the transfer reversal):
- a full refund (or a cancellation) refunds the bag `total` and reverses its whole
  `merchant_amount`;
- a partial refund refunds `R` minor units of goods only (no tax or shipping) and reverses
  `R - part(R, commission_bp)`: the merchant loses the goods money minus the commission on it.
"""

from __future__ import annotations

from typing import NamedTuple

BP_SCALE = 10_000


class Currency(NamedTuple):
    code: str
    weight: int  # share of orders placed in this currency (relative)
    per_usd_cent_ppm: int  # minor units per US cent, in millionths (EUR 0.92 -> 920_000)
    countries: tuple[str, ...]


CURRENCIES: tuple[Currency, ...] = (
    Currency("USD", 80, 1_000_000, ("US",)),
    Currency("EUR", 7, 920_000, ("DE", "FR", "NL")),
    Currency("GBP", 6, 790_000, ("GB",)),
    Currency("CAD", 5, 1_360_000, ("CA",)),
    Currency("JPY", 2, 1_500_000, ("JP",)),
)
BY_CODE = {c.code: c for c in CURRENCIES}

# Sales tax / VAT per shipping country, in basis points (US: one of several state rates).
TAX_BP: dict[str, tuple[int, ...]] = {
    "US": (0, 600, 725, 825, 1000),
    "CA": (1300,),
    "GB": (2000,),
    "DE": (1900,),
    "FR": (2000,),
    "NL": (2100,),
    "JP": (1000,),
}

# Commission rates merchants negotiate, in basis points (15.0 % = 1500).
COMMISSION_BP: tuple[int, ...] = (1000, 1200, 1250, 1500, 1500, 1500, 1750, 2000)


def part(amount: int, bp: int) -> int:
    """`amount * bp / 10000`, rounded half up. The single rounding rule of the simulator."""
    return (amount * bp + BP_SCALE // 2) // BP_SCALE


def commission(sub_total: int, commission_bp: int) -> int:
    return part(sub_total, commission_bp)


def merchant_amount(
    sub_total: int, tax_total: int, shipping_total: int, discount_total: int, commission_bp: int
) -> int:
    """What the merchant is owed for a bag (merchant as tax remitter)."""
    return (
        sub_total
        + tax_total
        + shipping_total
        - discount_total
        - commission(sub_total, commission_bp)
    )


def partial_reversal(refunded_goods: int, commission_bp: int) -> int:
    """Merchant money reversed for a partial refund of `refunded_goods` minor units of goods."""
    return refunded_goods - commission(refunded_goods, commission_bp)


def convert_from_usd_cents(usd_cents: int, currency: str) -> int:
    """A list price set in US cents, expressed in `currency` minor units (half up)."""
    ppm = BY_CODE[currency].per_usd_cent_ppm
    return (usd_cents * ppm + 500_000) // 1_000_000


def rate_percent(bp: int) -> float:
    """The `commission_rate` Violet puts in payloads (a percentage number) for `bp`."""
    return bp / 100


def rate_bp(percent: float) -> int:
    """Basis points of a payload `commission_rate` (at most two decimals)."""
    return round(percent * 100)
