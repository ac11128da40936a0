"""Finance rules, one world each, from documented webhook bodies only (tests/pipelines/handmade):
each rule is shown to fire and to stay quiet, so each test can fail."""

from __future__ import annotations

from pathlib import Path

from .handmade import Bag, Order, World, exceptions, settlement

M, ACCOUNT = 10, 20  # the merchant and its payout account of most worlds


def shop(tmp_path: Path, **order: object) -> tuple[World, Order, Bag]:
    """A merchant with an active payout account and one captured order of one accepted bag."""
    w = World(tmp_path)
    w.merchant(M)
    w.payout_account(ACCOUNT, M)
    bag = Bag(200, order_id=100, merchant_id=M)
    o = Order(100, [bag], payment_id=300, **order)  # type: ignore[arg-type]
    w.order(o, at=1)
    return w, o, bag


def test_a_transfer_without_merchant_id_is_the_payout_accounts_merchant(tmp_path: Path) -> None:
    w, _, bag = shop(tmp_path)
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=2)
    w.transfer(401, 999, 1, [bag], at=2.5, created=2.5)  # unknown account: from its bag
    con = w.build(as_of_hours=10)
    rows = con.execute(
        "select id, merchant_id, merchant_id_source from core.transfers order by id"
    ).fetchall()
    assert rows == [(400, M, "payout_account"), (401, M, "bags")]
    w.transfer(402, ACCOUNT, 5, [], at=3, extra={"merchant_id": 77})
    con.close()
    con = w.build(as_of_hours=10)
    assert con.execute(
        "select merchant_id, merchant_id_source from core.transfers where id = 402"
    ).fetchone() == (77, "body")


def test_related_ids_as_integers_or_under_the_newer_names_cover_their_bags(
    tmp_path: Path,
) -> None:
    w, _, bag = shop(tmp_path)
    other = Bag(201, order_id=101, merchant_id=M)
    w.order(Order(101, [other], payment_id=301), at=1)
    w.transfer(400, ACCOUNT, bag.expected, [], at=2, extra={"related_bags": [200]})
    w.transfer(
        401, ACCOUNT, other.expected, [], at=2,
        extra={"related_bags": None, "related_bag_ids": ["201"], "related_order_ids": ["101"]},
    )  # fmt: skip
    con = w.build(as_of_hours=30)
    assert exceptions(con) == {}
    assert settlement(con, 200)["settlement_state"] == "SETTLED"
    assert settlement(con, 201)["settlement_state"] == "SETTLED"
    assert con.execute("select related_orders from core.transfers where id = 401").fetchone() == (
        ["101"],
    )


def test_a_refund_is_the_bags_status_and_without_a_reversal_is_reversal_missing(
    tmp_path: Path,
) -> None:
    w, o, bag = shop(tmp_path)
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=2)
    bag.status, bag.financial_status = "REFUNDED", "REFUNDED"
    o.capture_status, o.related_refunds = "REFUNDED", ["9001"]
    w.order(o, at=5, topic="ORDER_REFUNDED")
    con = w.build(as_of_hours=8)  # 3 h after the refund: within the reversal grace
    assert exceptions(con) == {}
    s = settlement(con, 200)
    assert (s["settlement_state"], s["due_minor"], s["outstanding_minor"]) == (
        "PENDING", 0, -bag.expected,
    )  # fmt: skip
    balance = con.execute(
        "select outstanding_minor from finance.merchant_balances where merchant_id = ?", [M]
    ).fetchone()
    assert balance == (-bag.expected,)  # money to take back, not an overstated balance
    con.close()
    con = w.build(as_of_hours=12)
    assert exceptions(con) == {
        ("REVERSAL_MISSING", bag.expected, -bag.expected, 100, 200, M, 400): 1
    }
    payments = con.execute(
        "select refund_state, refunded_minor from finance.order_payments"
    ).fetchone()
    assert payments == ("REFUNDED", bag.total)
    # The reversal arrives: quiet, and the bag is REVERSED with nothing outstanding.
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=13, status="REVERSED",
               topic="TRANSFER_REVERSED", created=2)  # fmt: skip
    con.close()
    con = w.build(as_of_hours=14)
    assert exceptions(con) == {}
    s = settlement(con, 200)
    assert (s["settlement_state"], s["outstanding_minor"]) == ("REVERSED", 0)


def test_a_bag_cancelled_after_capture_is_a_refund(tmp_path: Path) -> None:
    w, o, bag = shop(tmp_path)
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=2)
    bag.status = "CANCELED"
    w.order(o, at=3, topic="ORDER_CANCELLED")
    con = w.build(as_of_hours=12)
    assert exceptions(con) == {
        ("REVERSAL_MISSING", bag.expected, -bag.expected, 100, 200, M, 400): 1
    }


def test_a_partial_refunds_amount_is_unknown_and_says_so(tmp_path: Path) -> None:
    w, o, bag = shop(tmp_path)
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=2)
    bag.status, bag.financial_status = "PARTIALLY_REFUNDED", "PARTIALLY_REFUNDED"
    o.capture_status = "PARTIALLY_REFUNDED"
    w.order(o, at=5, topic="ORDER_UPDATED")
    con = w.build(as_of_hours=12)
    rows = con.execute(
        "select kind, amount_minor, amount_exact, difference_minor, detail from finance.exceptions"
    ).fetchall()
    assert len(rows) == 1
    kind, amount, exact, difference, detail = rows[0]
    assert (kind, amount, exact, difference) == ("REVERSAL_MISSING", bag.expected, False, None)
    assert "not in the webhook" in detail
    assert settlement(con, 200)["amounts_exact"] is False
    # Refund data (bags[].refunds[], API only) makes it exact.
    assert con.execute("select refund_state from finance.order_payments").fetchone() == (
        "PARTIALLY_REFUNDED",
    )


def test_a_failed_reversal_is_reversal_failed_until_the_reversal_arrives(tmp_path: Path) -> None:
    w, o, bag = shop(tmp_path)
    # The transfer failed once and was retried: its old error is older than the refund.
    old = {"payout_transfer_id": 1, "error_code": 4460, "error_message": "no balance",
           "date_created": "2026-11-01T02:00:00Z"}  # fmt: skip
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=2, status="FAILED", topic="TRANSFER_FAILED")
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=3, created=2, errors=[old])
    bag.status = "CANCELED"
    w.order(o, at=4, topic="ORDER_CANCELLED")
    con = w.build(as_of_hours=5)  # within the reversal grace, before any failure: quiet
    assert exceptions(con) == {}
    failure = {"payout_transfer_id": 2, "error_code": 4470,
               "error_message": "reversal failed: balance too low",
               "date_created": "2026-11-01T04:30:00.125Z"}  # fmt: skip
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=4.5, created=2, errors=[old, failure],
               topic="TRANSFER_REVERSAL_FAILED")  # fmt: skip
    con.close()
    con = w.build(as_of_hours=5)
    assert exceptions(con) == {("REVERSAL_FAILED", bag.expected, None, 100, 200, M, 400): 1}
    assert settlement(con, 200)["settlement_state"] == "FAILED"
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=6, created=2, status="REVERSED",
               errors=[old, failure], topic="TRANSFER_REVERSED")  # fmt: skip
    con.close()
    con = w.build(as_of_hours=7)
    assert exceptions(con) == {}
    resolved = con.execute(
        "select kind, resolved_at is not null from finance.exception_log"
    ).fetchall()
    assert resolved == [("REVERSAL_FAILED", True)]


def test_disabled_and_external_transfer_methods_owe_nothing_through_violet(
    tmp_path: Path,
) -> None:
    w = World(tmp_path)
    w.merchant(M)
    w.payout_account(ACCOUNT, M)
    bags = {}
    for n, method in enumerate(("DISABLED", "EXTERNAL", "AUTOMATIC")):
        bag = Bag(200 + n, order_id=100 + n, merchant_id=M)
        bags[method] = bag
        w.order(Order(100 + n, [bag], payment_id=300 + n, transfer_method=method), at=1)
    con = w.build(as_of_hours=30)
    assert exceptions(con) == {
        ("TRANSFER_MISSING", bags["AUTOMATIC"].expected, -bags["AUTOMATIC"].expected, 102, 202,
         M, None): 1
    }  # fmt: skip
    assert settlement(con, 200)["settlement_state"] == "NOT_DUE"
    assert settlement(con, 200)["owed"] is False


def test_custom_capture_gets_days_not_an_hour(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.merchant(M)
    for n, method in enumerate(("AUTOMATIC", "CUSTOM")):
        bag = Bag(200 + n, order_id=100 + n, merchant_id=M)
        w.order(Order(100 + n, [bag], 300 + n, capture_status="AUTHORIZED",
                      capture_method=method), at=1)  # fmt: skip
    con = w.build(as_of_hours=5)
    assert {row[0:4] for row in exceptions(con)} == {("CAPTURE_MISSING", 10_000, -10_000, 100)}
    con.close()
    con = w.build(as_of_hours=4 * 24)
    assert {row[3] for row in exceptions(con)} == {100, 101}


def test_a_netted_transfer_matches_the_sum_of_its_bags_and_refunds_net_into_the_next(
    tmp_path: Path,
) -> None:
    w = World(tmp_path)
    w.merchant(M)
    w.payout_account(ACCOUNT, M)
    orders = []
    for n in range(3):
        bag = Bag(200 + n, order_id=100 + n, merchant_id=M, sub_total=10_000 + 100 * n,
                  fulfillment_status="SHIPPED")  # fmt: skip
        orders.append(Order(100 + n, [bag], payment_id=300 + n))
        w.order(orders[-1], at=1 + n)
    a, b, c = (o.bags[0] for o in orders)
    # Day 1: one transfer for bags a and b (two orders). Then a is refunded in full.
    w.transfer(400, ACCOUNT, a.expected + b.expected, [a, b], at=20)
    a.status, a.financial_status = "REFUNDED", "REFUNDED"
    w.order(orders[0], at=22, topic="ORDER_REFUNDED")
    con = w.build(as_of_hours=30)
    # c (fulfilled, not transferred yet) waits for the next batch; a's refund is netted, not
    # reversed; the batch matches.
    assert exceptions(con) == {}
    assert con.execute(
        "select paid_in_batches, outstanding_minor from finance.merchant_balances"
    ).fetchone() == (True, c.expected - a.expected)
    # Day 2: the next batch pays c and takes a back.
    w.transfer(401, ACCOUNT, c.expected - a.expected, [c, a], at=44)
    con.close()
    con = w.build(as_of_hours=46)
    assert exceptions(con) == {}
    for bag in (a, b, c):
        s = settlement(con, bag.id)
        assert s["outstanding_minor"] == 0, (bag.id, s)
    # A batch short by 7: one mismatch on the transfer, with its merchant, signed.
    w.transfer(401, ACCOUNT, c.expected - a.expected - 7, [c, a], at=45, created=44)
    con.close()
    con = w.build(as_of_hours=46)
    assert exceptions(con) == {("TRANSFER_AMOUNT_MISMATCH", 7, -7, None, None, M, 401): 1}


def test_a_batched_merchants_bag_is_due_days_after_fulfilment(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.merchant(M)
    w.payout_account(ACCOUNT, M)
    bags = [Bag(200 + n, order_id=100 + n, merchant_id=M) for n in range(3)]
    for n, bag in enumerate(bags):
        w.order(Order(100 + n, [bag], payment_id=300 + n), at=1)
    w.transfer(400, ACCOUNT, bags[0].expected + bags[1].expected, bags[:2], at=20)
    con = w.build(as_of_hours=30)  # bag 202: captured 29 h ago, not fulfilled: not due
    assert exceptions(con) == {}
    bags[2].fulfillment_status = "SHIPPED"
    w.order(Order(102, [bags[2]], payment_id=302), at=31, topic="ORDER_SHIPPED")
    con.close()
    con = w.build(as_of_hours=31 + 47)
    assert exceptions(con) == {}
    con.close()
    con = w.build(as_of_hours=31 + 49)
    assert exceptions(con) == {
        ("TRANSFER_MISSING", bags[2].expected, -bags[2].expected, 102, 202, M, None): 1
    }


def test_a_partly_sent_transfer_is_its_own_critical_kind(tmp_path: Path) -> None:
    w, _, bag = shop(tmp_path)
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=2, topic="TRANSFER_PARTIALLY_SENT")
    con = w.build(as_of_hours=3)
    rows = con.execute(
        "select kind, severity, amount_minor, amount_exact, transfer_id, merchant_id "
        "from finance.exceptions"
    ).fetchall()
    assert rows == [("TRANSFER_PARTIALLY_SENT", "critical", bag.expected, False, 400, M)]
    assert settlement(con, 200)["settlement_state"] == "FAILED"
    w.transfer(400, ACCOUNT, bag.expected, [bag], at=4, created=2)  # the rest is sent
    con.close()
    con = w.build(as_of_hours=5)
    assert exceptions(con) == {}
    assert settlement(con, 200)["settlement_state"] == "SETTLED"


def test_refund_state_falls_back_to_the_payments_capture_status(tmp_path: Path) -> None:
    w, o, _ = shop(tmp_path)
    o.capture_status, o.related_refunds = "PARTIALLY_REFUNDED", ["9001"]
    w.order(o, at=2)  # the bag shows nothing (yet): the payment says money went back
    con = w.build(as_of_hours=3)
    assert con.execute(
        "select refund_state, refunded_minor, captured_minor from finance.order_payments"
    ).fetchone() == ("PARTIALLY_REFUNDED", 0, o.total)
    assert con.execute("select related_refunds from core.payment_transactions").fetchone() == (
        ["9001"],
    )
