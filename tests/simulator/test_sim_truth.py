"""The truth agrees with the stream: replaying the deliveries gives the same state and exceptions.

The replay and the reconciliation below read only delivered bytes (documented fields and topics),
never simulator internals: they are an independent implementation of truth.py's rules and of the
finance rules the warehouse applies (anomalies.py, briefs' finance_rules.md).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow.parquet as pq
import pytest

from simulator import anomalies as A
from simulator import clock, events, money, rows, stream, truth
from simulator.deliveries import BAD_SIGNATURE, Delivery
from simulator.options import Options

Payload = dict[str, Any]
HOUR_US = clock.HOUR * clock.US
DAY_US = clock.DAY * clock.US


class Version(NamedTuple):
    payload: Payload
    topics: frozenset[str]  # the topics that announced it (empty: only seen inside an order)


class Replay:
    """Every version of every entity (by exact `date_last_modified`), and what was delivered."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        found: dict[str, dict[int, dict[int, tuple[Payload, set[str]]]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        self.seen_orders: set[int] = set()
        self.seen_bags: set[int] = set()
        firsts: dict[str, Delivery] = {}
        for d in deliveries:
            if d.kind == BAD_SIGNATURE:
                continue
            key = d.header("X-Violet-Event-Id-Source") or d.header("X-Violet-Event-Id")
            key = key or "sha256:" + hashlib.sha256(d.body).hexdigest()
            firsts.setdefault(key, d)
        for d in firsts.values():
            topic = d.header("X-Violet-Topic")
            entity = events.entity_of_topic(topic) if topic else None
            if entity is None or topic is None:
                continue
            try:
                payload = json.loads(d.body)
            except ValueError:
                continue
            parsed: list[tuple[str, Payload, str | None]] = [(entity, payload, topic)]
            if entity == events.ORDERS:
                self.seen_orders.add(payload["id"])
                self.seen_bags.update(b["id"] for b in payload["bags"])
                for embedded in payload["payment_transactions"]:
                    parsed.append((events.PAYMENT_TRANSACTIONS, embedded, None))
            for ent, p, tp in parsed:
                version = rows.version_of(p)
                known = found[ent][p["id"]].get(version)
                if known is None:
                    found[ent][p["id"]][version] = (p, set() if tp is None else {tp})
                    continue
                # One version, many deliveries (renderings): they must say the same thing.
                assert _same(ent, p, known[0], tp), (ent, p["id"], version)
                if tp is not None:
                    known[1].add(tp)
        self.history: dict[str, dict[int, list[Version]]] = {
            ent: {
                entity_id: [Version(p, frozenset(tps)) for _, (p, tps) in sorted(by_v.items())]
                for entity_id, by_v in by_id.items()
            }
            for ent, by_id in found.items()
        }
        self.current: dict[str, dict[int, Payload]] = defaultdict(dict)
        self.current_topic: dict[str, dict[int, str | None]] = defaultdict(dict)
        for ent, by_id in self.history.items():
            for entity_id, versions in by_id.items():
                self.current[ent][entity_id] = versions[-1].payload
                # Rows need a topic only for a sync's type: all its topics share the prefix.
                topics = sorted(t for v in versions for t in v.topics)
                self.current_topic[ent][entity_id] = topics[0] if topics else None
        self.accounts = {
            pa_id: p["merchant_id"] for pa_id, p in self.current[events.PAYOUT_ACCOUNTS].items()
        }

    def tables(self) -> dict[str, list[rows.Row]]:
        out: dict[str, list[rows.Row]] = {table: [] for table in rows.TABLES}
        for entity, by_id in self.current.items():
            finals: list[Any] = [(self.current_topic[entity][i], p) for i, p in by_id.items()]
            rows.collect(entity, finals, out, self.accounts)
        return out


def _same(entity: str, a: Payload, b: Payload, topic: str | None) -> bool:
    """Whether two renderings of one version give the same rows (instants, not spellings)."""
    accounts: dict[int, int] = defaultdict(int)  # any merchant: only the rest is compared
    return rows.rows(entity, a, topic, accounts) == rows.rows(entity, b, topic, accounts)


def merchant_amount(b: Payload) -> int:
    bp = money.rate_bp(b["commission_rate"])
    return money.merchant_amount(
        b["sub_total"], b["tax_total"], b["shipping_total"], b["discount_total"], bp
    )


class Refund(NamedTuple):
    at: int  # exact microseconds
    full: bool


def reconcile(replay: Replay, summary: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    """The finance rules (anomalies.py), over replayed history and current state at as_of.

    Keys: (kind, currency, amount_minor, difference_minor, order, bag, merchant, transfer).
    """
    as_of = clock.parse(summary["as_of"])
    grace = summary["grace"]
    capture_grace = {
        "AUTOMATIC": grace["capture_grace_hours"] * HOUR_US,
        "CUSTOM": grace["custom_capture_grace_days"] * DAY_US,
    }
    transfer_grace = grace["transfer_grace_days"] * DAY_US
    scheduled_grace = grace["scheduled_transfer_grace_days"] * DAY_US
    reversal_grace = grace["reversal_grace_days"] * DAY_US
    cur, hist = replay.current, replay.history
    found: Counter[tuple[Any, ...]] = Counter()

    payments_of: dict[int, list[Payload]] = defaultdict(list)
    for p in cur[events.PAYMENT_TRANSACTIONS].values():
        payments_of[p["order_id"]].append(p)
    capture_time: dict[int, int] = {}
    for pid, versions in hist[events.PAYMENT_TRANSACTIONS].items():
        times = [
            rows.version_of(v.payload)
            for v in versions
            if v.payload["capture_status"] in A.CAPTURED_STATUSES
        ]
        if times:
            capture_time[pid] = times[0]

    def method(order_id: int, name: str) -> str:
        ps = payments_of.get(order_id) or [{}]
        return str(ps[0].get(name) or "AUTOMATIC")

    def captured_payments(order_id: int) -> list[Payload]:
        return [p for p in payments_of[order_id] if p["capture_status"] in A.CAPTURED_STATUSES]

    # Orders and payments.
    for o in cur[events.ORDERS].values():
        ps = payments_of[o["id"]]
        closed = o["status"] in A.CLOSED_ORDER_STATUSES
        captured = captured_payments(o["id"])
        for p in ps:
            age = as_of - clock.parse(p["date_created"])
            limit = capture_grace[method(o["id"], "capture_method")]
            uncaptured = p["capture_status"] in A.UNCAPTURED_STATUSES and not captured
            if uncaptured and not closed and age > limit:
                key: tuple[Any, ...] = (
                    A.CAPTURE_MISSING,
                    o["currency"],
                    p["amount"],
                    -p["amount"],
                    o["id"],
                )
                found[(*key, None, None, None)] += 1
        if ps and all(p["capture_status"] == "FAILED" for p in ps) and not closed:
            found[
                (A.CAPTURE_FAILED, o["currency"], o["total"], None, o["id"], None, None, None)
            ] += 1
        if captured:
            diff = sum(p["amount"] for p in captured) - o["total"]
            if diff:
                key = (A.CAPTURE_AMOUNT_MISMATCH, o["currency"], abs(diff), diff, o["id"])
                found[(*key, None, None, None)] += 1

    # Bags: current state, refunds and fulfilment from their history inside order versions.
    bags: dict[int, tuple[Payload, Payload]] = {}
    for o in cur[events.ORDERS].values():
        for b in o["bags"]:
            bags[b["id"]] = (o, b)
    bag_versions: dict[int, dict[int, Payload]] = defaultdict(dict)
    for versions in hist[events.ORDERS].values():
        for v in versions:
            for b in v.payload["bags"]:
                bag_versions[b["id"]].setdefault(rows.version_of(b), b)
    refunds: dict[int, Refund] = {}
    fulfilled: dict[int, int] = {}
    for bag_id, by_v in bag_versions.items():
        order_id = bags[bag_id][0]["id"]
        payment_ids = [p["id"] for p in payments_of[order_id]]
        for at, b in sorted(by_v.items()):
            if bag_id not in fulfilled and b["fulfillment_status"] != "PROCESSING":
                fulfilled[bag_id] = at
            if bag_id in refunds:
                continue
            states = {b["status"], b["financial_status"]}
            captured_then = any(capture_time.get(pid, as_of + 1) <= at for pid in payment_ids)
            if "REFUNDED" in states or (b["status"] == "CANCELED" and captured_then):
                refunds[bag_id] = Refund(at, True)
            elif "PARTIALLY_REFUNDED" in states:
                refunds[bag_id] = Refund(at, False)

    # Transfers.
    transfers = cur[events.TRANSFERS]
    merchant_of = {tid: replay.accounts[t["payout_account_id"]] for tid, t in transfers.items()}
    covers = {tid: rows.related_ids(t, "bags") for tid, t in transfers.items()}
    created = {tid: clock.parse(t["date_created"]) for tid, t in transfers.items()}
    batched = {merchant_of[tid] for tid, bs in covers.items() if len(set(bs)) >= 2}
    covering: dict[int, list[int]] = defaultdict(list)
    for tid in sorted(transfers, key=lambda tid: (created[tid], tid)):
        for bag_id in dict.fromkeys(covers[tid]):
            covering[bag_id].append(tid)

    for bag_id, (o, b) in bags.items():
        ps = captured_payments(o["id"])
        owed = b["status"] in A.OWED_BAG_STATUSES and bool(ps)
        if not owed or covering.get(bag_id):
            continue
        if method(o["id"], "transfer_method") not in ("AUTOMATIC", "CUSTOM"):
            continue
        if b["merchant_id"] in batched:
            if bag_id not in fulfilled:
                continue
            due = fulfilled[bag_id] + scheduled_grace
        else:
            due = min(capture_time[p["id"]] for p in ps) + transfer_grace
        if due < as_of:
            e = merchant_amount(b)
            key = (A.TRANSFER_MISSING, o["currency"], e, -e, o["id"], bag_id, b["merchant_id"])
            found[(*key, None)] += 1

    def contribution(bag_id: int, tid: int) -> tuple[int, int]:
        chain = covering[bag_id]
        k = chain.index(tid)
        e = merchant_amount(bags[bag_id][1])
        r = refunds.get(bag_id)
        if k == 0:
            if r is None or r.at >= created[tid]:
                return e, e
            return (0, 0) if r.full else (0, e)
        if r is not None and created[chain[k - 1]] <= r.at < created[tid]:
            return (-e, -e) if r.full else (-e, 0)
        return 0, 0

    accounts = cur[events.PAYOUT_ACCOUNTS]
    for tid, t in transfers.items():
        bag_ids = covers[tid]
        order_ids = rows.related_ids(t, "orders")
        mid = merchant_of[tid]
        single = (order_ids[0], bag_ids[0]) if len(bag_ids) == 1 else (None, None)
        ids_ = (*single, mid, tid)
        cur_topics = hist[events.TRANSFERS][tid][-1].topics
        if t["status"] == "FAILED":
            found[(A.TRANSFER_FAILED, t["currency"], t["amount"], None, *ids_)] += 1
        if "TRANSFER_PARTIALLY_SENT" in cur_topics:
            found[(A.TRANSFER_PARTIALLY_SENT, t["currency"], t["amount"], None, *ids_)] += 1
        unknown = [x for x in bag_ids if x not in replay.seen_bags]
        unknown_orders = [x for x in order_ids if x not in replay.seen_orders]
        if (unknown or unknown_orders) and as_of - created[tid] > HOUR_US:
            key = (A.UNKNOWN_REFERENCE, t["currency"], t["amount"], None)
            first_order = unknown_orders[0] if unknown_orders else None
            found[(*key, first_order, unknown[0] if unknown else None, mid, tid)] += 1
        if all(x in bags for x in bag_ids):
            lo = sum(contribution(x, tid)[0] for x in dict.fromkeys(bag_ids))
            hi = sum(contribution(x, tid)[1] for x in dict.fromkeys(bag_ids))
            if not lo <= t["amount"] <= hi:
                bound = lo if t["amount"] < lo else hi
                diff = t["amount"] - bound
                key = (A.TRANSFER_AMOUNT_MISMATCH, t["currency"], abs(diff), diff)
                found[(*key, *ids_)] += 1
        if t["status"] == "PENDING":
            acct = accounts[t["payout_account_id"]]
            provider = acct["payment_provider_account"]
            blocked = (
                not acct["is_active"]
                or not provider["payouts_enabled"]
                or bool(provider["requirements"]["past_due"])
            )
            if blocked:
                found[(A.PAYOUT_ACCOUNT_BLOCKED, t["currency"], t["amount"], None, *ids_)] += 1

    # Refunded bags whose single-bag transfer moved money and was not reversed.
    for bag_id, r in refunds.items():
        o, b = bags[bag_id]
        for tid in covering.get(bag_id, []):
            t = transfers[tid]
            if set(covers[tid]) != {bag_id} or t["status"] not in A.MOVED_MONEY_STATUSES:
                continue
            if merchant_of[tid] in batched or method(o["id"], "transfer_method") != "AUTOMATIC":
                continue
            if t["status"] in A.REVERSED_STATUSES:
                continue
            ids_ = (o["id"], bag_id, merchant_of[tid], tid)
            failed = any(
                "TRANSFER_REVERSAL_FAILED" in v.topics and rows.version_of(v.payload) >= r.at
                for v in hist[events.TRANSFERS][tid]
            ) or any(clock.parse(e["date_created"]) >= r.at for e in t["errors"])
            if failed:
                found[(A.REVERSAL_FAILED, t["currency"], t["amount"], None, *ids_)] += 1
            elif as_of - r.at > reversal_grace:
                diff = -t["amount"] if r.full else None
                found[(A.REVERSAL_MISSING, t["currency"], t["amount"], diff, *ids_)] += 1
    return found


@pytest.fixture(scope="module")
def replay(mid_deliveries: list[Delivery]) -> Replay:
    return Replay(mid_deliveries)


def _sorted(table_rows: list[list[Any]] | list[rows.Row]) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in table_rows)


@pytest.mark.parametrize("table", rows.TABLES)
def test_replayed_current_state_is_the_truth(
    mid_truth_dir: Path, mid_summary: dict[str, Any], replay: Replay, table: str
) -> None:
    expected = truth.to_table(table, replay.tables()[table])
    written = pq.read_table(mid_truth_dir / f"{table}.parquet")
    assert written.schema.equals(truth.schema(table))
    assert written.num_rows > 0
    assert _sorted([list(r.values()) for r in written.to_pylist()]) == _sorted(
        [list(r.values()) for r in expected.to_pylist()]
    )
    assert mid_summary["entities"][table] == written.num_rows


def test_truth_timestamps_keep_milliseconds(mid_truth_dir: Path) -> None:
    written = pq.read_table(mid_truth_dir / "orders.parquet").column("date_last_modified")
    micros = [ts.microsecond for ts in written.to_pylist()]
    assert any(micros)
    assert not all(micros)
    assert all(us % 1000 == 0 for us in micros)


def _exception_keys(written: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(
        (
            r["kind"],
            r["currency"],
            r["amount_minor"],
            r["difference_minor"],
            r["order_id"],
            r["bag_id"],
            r["merchant_id"],
            r["transfer_id"],
        )
        for r in written
    )


def test_the_documented_rules_find_exactly_the_injected_anomalies(
    mid_truth_dir: Path, mid_summary: dict[str, Any], replay: Replay
) -> None:
    table = pq.read_table(mid_truth_dir / "exceptions.parquet")
    assert table.schema.equals(truth.EXCEPTION_SCHEMA)
    assert table.schema.names[2:4] == ["amount_minor", "difference_minor"]
    written = table.to_pylist()
    expected = _exception_keys(written)
    found = reconcile(replay, mid_summary)
    assert found == expected
    assert all(n == 1 for n in expected.values()), "every injected anomaly is one exception"
    kinds = Counter(r["kind"] for r in written)
    assert set(kinds) == set(A.KINDS)
    assert all(r["amount_minor"] > 0 and r["detail"] and r["merchant_id"] for r in written
               if r["bag_id"] or r["transfer_id"])  # fmt: skip
    signed = {
        A.CAPTURE_MISSING: lambda r: r["difference_minor"] == -r["amount_minor"],
        A.TRANSFER_MISSING: lambda r: r["difference_minor"] == -r["amount_minor"],
        A.REVERSAL_MISSING: lambda r: r["difference_minor"] == -r["amount_minor"],
        A.CAPTURE_AMOUNT_MISMATCH: lambda r: abs(r["difference_minor"]) == r["amount_minor"],
        A.TRANSFER_AMOUNT_MISMATCH: lambda r: abs(r["difference_minor"]) == r["amount_minor"],
    }
    for r in written:
        check = signed.get(r["kind"])
        assert check(r) if check else r["difference_minor"] is None, r


def test_summary_counts_match_the_stream(
    mid_summary: dict[str, Any], mid_deliveries: list[Delivery]
) -> None:
    summary, ds = mid_summary, mid_deliveries
    stored = [d for d in ds if d.kind != BAD_SIGNATURE]
    assert summary["deliveries_total"] == len(ds)
    assert summary["genuine_stored_deliveries"] == len(stored)
    assert summary["bad_signature_deliveries"] == len(ds) - len(stored)
    firsts: dict[str, Delivery] = {}
    for d in stored:
        key = d.header("X-Violet-Event-Id-Source") or d.header("X-Violet-Event-Id")
        firsts.setdefault(key or "sha256:" + hashlib.sha256(d.body).hexdigest(), d)
    by_topic = Counter(d.header("X-Violet-Topic") for d in firsts.values())
    assert None not in by_topic
    assert summary["logical_events"] == len(firsts)
    assert summary["logical_events_by_topic"] == dict(by_topic)
    stored_by_topic = Counter(d.header("X-Violet-Topic") for d in stored)
    assert summary["stored_deliveries_without_topic"] == stored_by_topic.pop(None, 0)
    assert summary["stored_deliveries_by_topic"] == dict(stored_by_topic)
    new_family = {
        t: n
        for t, n in by_topic.items()
        if t and events.entity_of_topic(t) and not events.is_documented(t)
    }
    assert summary["new_family_topics"] == new_family
    assert new_family
    assert set(new_family) <= {t for topics in events.NEW_FAMILY_TOPICS.values() for t in topics}
    kinds = Counter(d.kind for d in ds)
    assert summary["bad_deliveries"] == {k: kinds[k] for k in summary["bad_deliveries"]}
    assert summary["as_of"] == "2026-11-03T00:00:00Z"
    assert summary["api_fields"] is False
    assert set(summary["grace"]) == {
        "transfer_grace_days",
        "reversal_grace_days",
        "capture_grace_hours",
        "custom_capture_grace_days",
        "scheduled_transfer_grace_days",
    }


def test_new_family_events_are_the_same_version_as_a_documented_one(replay: Replay) -> None:
    beside = 0
    for by_id in replay.history.values():
        for versions in by_id.values():
            for v in versions:
                odd = {t for t in v.topics if not events.is_documented(t)}
                if odd:
                    assert v.topics - odd, "announced under a documented topic too"
                    beside += 1
    assert beside > 0


def test_a_healthy_world_raises_no_exception(tmp_path: Path) -> None:
    """No anomalies injected: the rules must find nothing, in-flight work at as_of included."""
    options = Options(seed=23, orders=2_500, days=3, anomaly_rates=dict.fromkeys(A.KINDS, 0.0))
    summary = truth.write_truth(options, tmp_path, workers=1)
    assert summary["exceptions"] == 0
    replay = Replay(stream.deliveries(options, "healthy-secret", workers=1))
    assert reconcile(replay, summary) == Counter()
    # The span ends mid-flight: owed bags whose transfer has not come yet (within grace), and
    # CUSTOM captures still to come.
    transfers = replay.current[events.TRANSFERS].values()
    covered = {b for t in transfers for b in rows.related_ids(t, "bags")}
    waiting = [
        b["id"]
        for o in replay.current[events.ORDERS].values()
        for b in o["bags"]
        if b["status"] in A.OWED_BAG_STATUSES and b["id"] not in covered
    ]
    assert waiting
    payments = replay.current[events.PAYMENT_TRANSACTIONS].values()
    assert any(
        p["capture_method"] == "CUSTOM" and p["capture_status"] == "AUTHORIZED" for p in payments
    )
