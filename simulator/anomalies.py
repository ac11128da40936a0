"""The money anomalies the simulator injects, and the rules by which finance must find them.

Each injected anomaly yields exactly one expected exception; a healthy world yields none. These
are the warehouse's finance rules (issue 11), over what webhooks deliver (violet-webhooks.md),
evaluated at `as_of` (the end of the simulated span) on the current state of entities (newest
`date_last_modified`) and on their history where a rule says "first version". Grace periods are
the truth's `summary.json` key `grace` (`simulator.options.Grace`).

Words. A payment is *captured* when `capture_status` is CAPTURED, PARTIALLY_REFUNDED or REFUNDED;
its *capture time* is the `date_last_modified` of its first version in that state. A transfer
*covers* the bags in `related_bags` (or `related_bag_ids`). A transfer *moved money* when its
status is SENT, PARTIALLY_REVERSED, REVERSED or BYPASSED. A bag's *expected* amount is its
merchant amount (`simulator.money`: sub_total + tax + shipping - discount - commission).
`capture_method` and `transfer_method` are read from the order's payment transaction (absent =
AUTOMATIC). A merchant is *paid in batches* when any transfer to it (the merchant of its payout
account) covers two or more bags. A bag is *owed* when its status is ACCEPTED, COMPLETED or
PARTIALLY_REFUNDED and its order's payment is captured. A bag's *refund* is its first version
showing status or financial_status REFUNDED (full), PARTIALLY_REFUNDED (partial), or status
CANCELED while the payment is captured (full), dated by that version's `date_last_modified`; a
full refund takes back the whole expected amount, a partial one an amount no webhook gives.
A bag's *fulfilment* is its first version whose `fulfillment_status` is not PROCESSING.

Each kind, its rule, `amount_minor` and `difference_minor` (signed, actual - expected):

- CAPTURE_MISSING: the order is not CANCELED/REJECTED, a payment is AUTHORIZED (or REQUIRES_*),
  none is captured, and the payment's `date_created` is older than the capture grace
  (`capture_grace_hours` for capture_method AUTOMATIC, `custom_capture_grace_days` for CUSTOM).
  Amount: payment `amount`; difference: -amount. Ids: order.
- CAPTURE_FAILED: every payment FAILED and the order not CANCELED/REJECTED. Amount: order
  `total`; difference: null. Ids: order.
- CAPTURE_AMOUNT_MISMATCH: captured, and the captured amount != order `total`. Amount: the
  absolute difference; difference: captured - total. Ids: order.
- TRANSFER_MISSING: an owed bag, transfer_method AUTOMATIC or CUSTOM (never DISABLED or
  EXTERNAL), covered by no transfer (whatever its status), past its due time: capture time +
  `transfer_grace_days` for a merchant not paid in batches; fulfilment +
  `scheduled_transfer_grace_days` for one paid in batches (never due while unfulfilled).
  Amount: expected; difference: -expected. Ids: order, bag, merchant.
- TRANSFER_FAILED: transfer status FAILED. Amount: transfer `amount`; difference: null.
  Ids: transfer, merchant, and the order and bag (injected transfers cover one bag).
- TRANSFER_PARTIALLY_SENT: the transfer's current version was announced by
  TRANSFER_PARTIALLY_SENT. Amount: transfer `amount`; difference: null. Ids: as TRANSFER_FAILED.
- TRANSFER_AMOUNT_MISMATCH: every covered bag known, and the amount outside the expected range.
  Each covered bag contributes, in the order its covering transfers were created: to the first
  transfer covering it, expected (minus nothing without a refund before that transfer's
  `date_created`, 0 after a full refund, anything in [0, expected] after a partial one); to each
  later one (a netting line), minus the refunds dated between the previous covering transfer's
  `date_created` and this one's (full: -expected; partial: anything in [-expected, 0]; none: 0).
  Amount: the distance to the range; difference: amount - nearest bound. Ids: as TRANSFER_FAILED.
- REVERSAL_MISSING: a refunded bag whose covering transfer covers that bag alone and moved
  money, the merchant not paid in batches, transfer_method AUTOMATIC, and the transfer's status
  not REVERSED / PARTIALLY_REVERSED more than `reversal_grace_days` after the refund. Amount: the
  bag's share of the transfer (= its amount, one bag); difference: -amount for a full refund,
  null for a partial one. Ids: transfer, order, bag, merchant.
- REVERSAL_FAILED: such a transfer with a TRANSFER_REVERSAL_FAILED version or an `errors[]` item
  dated at or after the refund, its status not (yet) REVERSED / PARTIALLY_REVERSED. No grace (it
  replaces REVERSAL_MISSING for that refund). Amount: as REVERSAL_MISSING; difference: null.
- UNKNOWN_REFERENCE: the transfer names an order or bag never delivered (older than 1 h).
  Amount: transfer `amount`; difference: null. Ids: transfer, the unknown order and bag, merchant.
- PAYOUT_ACCOUNT_BLOCKED: a PENDING transfer to a payout account that is not active, has payouts
  disabled or a non-empty `requirements.past_due`. Amount: transfer `amount`; difference: null.
  Ids: transfer, order, bag, merchant.

The merchant of an exception naming a bag or a transfer is always filled (a transfer's is its
payout account's).

Injected shapes (so each gives exactly one exception): anomalous orders use capture_method and
transfer_method AUTOMATIC, and the merchant of their first bag is never paid in batches. Capture
anomalies get no transfers at all (nothing was captured; CAPTURE_AMOUNT_MISMATCH's transfers are
healthy); every transfer-level anomaly uses a dedicated single-bag transfer for the first bag;
TRANSFER_PARTIALLY_SENT's is announced by that topic (status SENT) and never completed; the
reversal anomalies cancel that bag after its transfer was sent, and REVERSAL_FAILED adds a
TRANSFER_REVERSAL_FAILED version (status stays SENT, `errors[]` gains an item dated at the
failure) 1-30 min after the refund; UNKNOWN_REFERENCE orders have one bag and none of their
order or payment events is ever delivered; PAYOUT_ACCOUNT_BLOCKED uses a merchant of its own
whose account is blocked minutes before the order. Anomalous orders have no healthy
cancellations, rejections or refunds. All of it happens in the anomaly window (early in the
span), so every grace an anomaly needs has passed at `as_of`.
"""

from __future__ import annotations

from typing import NamedTuple

CAPTURE_MISSING = "CAPTURE_MISSING"
CAPTURE_AMOUNT_MISMATCH = "CAPTURE_AMOUNT_MISMATCH"
CAPTURE_FAILED = "CAPTURE_FAILED"
TRANSFER_MISSING = "TRANSFER_MISSING"
TRANSFER_FAILED = "TRANSFER_FAILED"
TRANSFER_PARTIALLY_SENT = "TRANSFER_PARTIALLY_SENT"
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
    TRANSFER_PARTIALLY_SENT,
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
        TRANSFER_PARTIALLY_SENT,
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
MOVED_MONEY_STATUSES = frozenset({"SENT", "PARTIALLY_REVERSED", "REVERSED", "BYPASSED"})
REVERSED_STATUSES = frozenset({"REVERSED", "PARTIALLY_REVERSED"})
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
    difference_minor: int | None  # signed, actual - expected (null where the rule says so)
    order_id: int | None
    bag_id: int | None
    merchant_id: int | None
    transfer_id: int | None
    detail: str
