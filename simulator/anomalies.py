"""The money anomalies the simulator injects, and the rules by which finance must find them.

Each injected anomaly yields exactly one expected exception; a healthy world yields none. The
rules below are stated over the **current state** of entities (newest `date_last_modified`) at
`as_of` (the end of the simulated span), plus "ever delivered" for ids. Grace periods (truth
`summary.json`, key `grace`) are what the truth assumes:

- `capture_grace_hours` (default 1): an order's payment may stay uncaptured this long after the
  payment transaction's `date_created` (healthy captures follow authorisation within seconds);
- `transfer_grace_days` (default 0.25 = 6 h): a captured, accepted bag may wait this long after its
  payment transaction's `date_created` for a transfer (healthy transfers come within ~4 h,
  failed-then-retried ones included);
- `reversal_grace_days` (default 0.25): a refund may wait this long after the refund's
  `date_created` for its transfer reversal (healthy reversals come within 30 min).

Failures (`CAPTURE_FAILED`, `TRANSFER_FAILED`, `REVERSAL_FAILED`), mismatches, unknown references
and blocked payout accounts have no grace: the healthy world never leaves one open at `as_of`
(a healthy failure is only simulated when its resolution also happens before `as_of`).

Words used: a payment is *captured* when `capture_status` is CAPTURED, PARTIALLY_REFUNDED or
REFUNDED. A bag is *owed* when its status is ACCEPTED, COMPLETED or PARTIALLY_REFUNDED and its
order's payment is captured. A transfer *covers* the bags in its `related_bags`. `merchant_amount`
and `commission` follow `simulator.money`. Bag refunds are listed in `bag.refunds[]`, each with
`amount` (shopper money) and `merchant_transfer_reversal_amount` (merchant money to take back).

Each kind, its rule, the money at stake (`amount_minor`) and the ids filled in:

- CAPTURE_MISSING: the order is not CANCELED/REJECTED, its payment `capture_status` is AUTHORIZED
  (or REQUIRES_*), and the payment's `date_created` is older than the capture grace.
  Amount: payment `amount`. Ids: order.
- CAPTURE_FAILED: payment `capture_status` FAILED while the order is not CANCELED/REJECTED.
  Amount: order `total`. Ids: order.
- CAPTURE_AMOUNT_MISMATCH: payment captured and payment `amount` != order `total`.
  Amount: the absolute difference. Ids: order.
- TRANSFER_MISSING: a bag is owed, no transfer (whatever its status) covers it, and its payment's
  `date_created` is older than the transfer grace. Amount: bag `merchant_amount`.
  Ids: order, bag, merchant.
- TRANSFER_FAILED: transfer `status` FAILED. Amount: transfer `amount`.
  Ids: transfer, merchant, and the order and bag (injected transfers cover one bag).
- TRANSFER_AMOUNT_MISMATCH: every bag the transfer covers is known and transfer `amount` != the
  sum of their `merchant_amount`. Amount: the absolute difference. Ids: as TRANSFER_FAILED.
- REVERSAL_MISSING: a bag refund with `merchant_transfer_reversal_amount` > 0 whose covering
  transfer shows no reversal for it (fewer `transfer_reversals` than such refunds on its bags,
  and no open reversal error), the refund's `date_created` older than the reversal grace.
  Amount: that `merchant_transfer_reversal_amount`. Ids: transfer, order, bag, merchant.
- REVERSAL_FAILED: the transfer has an unresolved error with `error_code` 4470 and the refund's
  `refund_id` (it arrived as TRANSFER_REVERSAL_FAILED; `status` stays SENT). Amount: that
  refund's `merchant_transfer_reversal_amount`. Ids: transfer, order, bag, merchant.
- UNKNOWN_REFERENCE: the transfer's `related_orders`/`related_bags` name an order/bag never
  delivered. Amount: transfer `amount`. Ids: transfer, the unknown order and bag, merchant.
- PAYOUT_ACCOUNT_BLOCKED: a transfer with `status` PENDING to a payout account that is blocked
  (`is_active` false, `payouts_enabled` false, or `requirements.past_due` non-empty).
  Amount: transfer `amount`. Ids: transfer, order, bag, merchant.

Injected shapes (so each gives exactly one exception): capture anomalies get no transfers at all
(nothing was captured, or for CAPTURE_AMOUNT_MISMATCH the transfers are healthy); every
transfer-level anomaly uses a dedicated single-bag transfer for the order's first bag; reversal
anomalies cancel that bag after its transfer was sent; UNKNOWN_REFERENCE orders have one bag and
none of their order or payment events is ever delivered; PAYOUT_ACCOUNT_BLOCKED uses a merchant
of its own whose account is blocked minutes before the order. Anomalous orders have no healthy
cancellations, rejections or refunds. All of it happens in the anomaly window
(early in the span), so every grace period has passed at `as_of`.
"""

from __future__ import annotations

from typing import NamedTuple

CAPTURE_MISSING = "CAPTURE_MISSING"
CAPTURE_AMOUNT_MISMATCH = "CAPTURE_AMOUNT_MISMATCH"
CAPTURE_FAILED = "CAPTURE_FAILED"
TRANSFER_MISSING = "TRANSFER_MISSING"
TRANSFER_FAILED = "TRANSFER_FAILED"
TRANSFER_AMOUNT_MISMATCH = "TRANSFER_AMOUNT_MISMATCH"
REVERSAL_MISSING = "REVERSAL_MISSING"
REVERSAL_FAILED = "REVERSAL_FAILED"
UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
PAYOUT_ACCOUNT_BLOCKED = "PAYOUT_ACCOUNT_BLOCKED"

KINDS: tuple[str, ...] = (
    CAPTURE_MISSING,
    CAPTURE_AMOUNT_MISMATCH,
    CAPTURE_FAILED,
    TRANSFER_MISSING,
    TRANSFER_FAILED,
    TRANSFER_AMOUNT_MISMATCH,
    REVERSAL_MISSING,
    REVERSAL_FAILED,
    UNKNOWN_REFERENCE,
    PAYOUT_ACCOUNT_BLOCKED,
)

# Kinds that give the order's first bag a transfer of its own (never netted with other bags).
DEDICATED_TRANSFER_KINDS = frozenset(
    {
        TRANSFER_FAILED,
        TRANSFER_AMOUNT_MISMATCH,
        REVERSAL_MISSING,
        REVERSAL_FAILED,
        UNKNOWN_REFERENCE,
        PAYOUT_ACCOUNT_BLOCKED,
    }
)
# Kinds under which nothing of the order is transferred (its payment was never captured).
UNCAPTURED_KINDS = frozenset({CAPTURE_MISSING, CAPTURE_FAILED})

# error_code values in Transfer.errors[] (Violet's codes are undocumented; these are ours).
TRANSFER_FAILED_CODE = 4460
REVERSAL_FAILED_CODE = 4470

# Payload status sets the rules above refer to.
CAPTURED_STATUSES = frozenset({"CAPTURED", "PARTIALLY_REFUNDED", "REFUNDED"})
UNCAPTURED_STATUSES = frozenset(
    {"AUTHORIZED", "REQUIRES_PAYMENT_METHOD", "REQUIRES_AUTHORIZATION", "REQUIRES_ACTION"}
)
OWED_BAG_STATUSES = frozenset({"ACCEPTED", "COMPLETED", "PARTIALLY_REFUNDED"})
CLOSED_ORDER_STATUSES = frozenset({"CANCELED", "REJECTED"})


class ExpectedException(NamedTuple):
    """One row of the truth's `exceptions.parquet`."""

    kind: str
    currency: str
    amount_minor: int
    order_id: int | None
    bag_id: int | None
    merchant_id: int | None
    transfer_id: int | None
    detail: str
