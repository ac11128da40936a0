"""Logical events turned into signed HTTP deliveries, with Violet's quirks at configured rates.

For every event, in order: a first delivery seconds after the change (or 10-15 min late); maybe
retries of the same event (same `X-Violet-Event-Id`, 30 s, 60 s later); maybe a resend (new id,
`X-Violet-Event-Id-Source` = the original, 10 min-3 h later); and, as extras, copies signed with
the wrong secret (the service answers 401 and stores nothing), genuine deliveries whose body is
not JSON, genuine deliveries of a topic of no known family, copies without `X-Violet-Topic`, and
genuine events of their own (own `X-Violet-Event-Id`) carrying the same version under an
undocumented topic of the entity's family (`events.new_family_topic`; never beside
TRANSFER_PARTIALLY_SENT, whose topic is what finance reads). Some events are delivered without
`X-Violet-Event-Id` at all (only events whose body no other event shares, so that the fallback
key `sha256:<body hex>` names exactly one event). A version may be delivered after the next
version of the same entity (out of order); a first delivery never precedes the instant its
version shows (`clock.instant_us`).

Every stored delivery's body is the exact bytes that were signed; every version of every entity
reaches the service at least once in parseable form.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ingest.signature import sign
from simulator import __version__, clock, ids
from simulator.events import UNKNOWN_TOPICS, WEBHOOK_IDS, Event, new_family_topic
from simulator.options import StreamRates

GENUINE = "genuine"
BAD_SIGNATURE = "bad_signature"
NOT_JSON = "not_json"
UNKNOWN_TOPIC = "unknown_topic"
MISSING_EVENT_ID = "missing_event_id"
MISSING_TOPIC = "missing_topic"
BAD_KINDS: tuple[str, ...] = (
    BAD_SIGNATURE,
    NOT_JSON,
    UNKNOWN_TOPIC,
    MISSING_EVENT_ID,
    MISSING_TOPIC,
)

USER_AGENT = f"violet-warehouse-simulator/{__version__}"
_WRONG_SECRET = b"not-the-app-secret"

Headers = tuple[tuple[str, str], ...]


class Delivery(NamedTuple):
    """One HTTP request of the stream. Sorting by the first three fields is delivery order."""

    at_us: int  # simulated delivery (receive) time, epoch microseconds
    rank: int  # 0 for the merchant catalog, 1 + chunk for order chunks
    seq: int  # creation order within its rank
    kind: str  # GENUINE or one of BAD_KINDS
    headers: Headers  # as sent, canonical header-name case
    body: bytes

    @property
    def stored(self) -> bool:
        """Whether the service keeps it: everything correctly signed."""
        return self.kind != BAD_SIGNATURE

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass
class StreamCounts:
    """What a stream holds, summed over chunks (in chunk order, so sums are deterministic)."""

    deliveries: int = 0
    stored: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    resends: int = 0
    out_of_order_versions: int = 0
    late: int = 0
    logical_by_topic: Counter[str] = field(default_factory=Counter)
    stored_by_topic: Counter[str] = field(default_factory=Counter)
    new_family_by_topic: Counter[str] = field(default_factory=Counter)  # logical events
    missing_topic_stored: int = 0
    first_us: int | None = None
    last_us: int | None = None

    def add(self, other: StreamCounts) -> None:
        self.deliveries += other.deliveries
        self.stored += other.stored
        self.kinds.update(other.kinds)
        self.retries += other.retries
        self.resends += other.resends
        self.out_of_order_versions += other.out_of_order_versions
        self.late += other.late
        self.logical_by_topic.update(other.logical_by_topic)
        self.stored_by_topic.update(other.stored_by_topic)
        self.new_family_by_topic.update(other.new_family_by_topic)
        self.missing_topic_stored += other.missing_topic_stored
        for us in (other.first_us, other.last_us):
            if us is not None:
                self.first_us = us if self.first_us is None else min(self.first_us, us)
                self.last_us = us if self.last_us is None else max(self.last_us, us)


_COMMON: Headers = (
    ("Content-Type", "application/json"),
    ("User-Agent", USER_AGENT),
    ("Accept", "*/*"),
)
_new = tuple.__new__  # builds a Delivery without NamedTuple's Python-level constructor


def _headers(
    signature: str,
    topic: str | None,
    event_id: str | None,
    source: str | None,
    webhook: str,
    length: int,
    extra: Headers,
) -> Headers:
    hs: list[tuple[str, str]] = [*_COMMON, ("X-Violet-Hmac", signature)]
    if topic is not None:
        hs.append(("X-Violet-Topic", topic))
    if event_id is not None:
        hs.append(("X-Violet-Event-Id", event_id))
    if source is not None:
        hs.append(("X-Violet-Event-Id-Source", source))
    hs.append(("X-Violet-Webhook-Id", webhook))
    hs.append(("X-Violet-Entity-Length", str(length)))
    hs.extend(extra)
    return tuple(hs)


def _first_deliveries(
    events: Sequence[Event], rng: random.Random, rates: StreamRates, counts: StreamCounts
) -> tuple[list[int], list[bool]]:
    """When each event is first delivered, and whether its body is its own (not shared).

    Lag: usually an exponential of mean 1.5 s (capped at a minute), `late` of the time 10-15
    min. Then, per entity, some versions are held back until after the next version arrived.
    """
    random_, log, instant = rng.random, math.log, clock.instant_us
    late, mean = rates.late, 1.5 * clock.US
    versions = [instant(e.entity_id, e.at) for e in events]
    first = [
        at
        + (
            600 * clock.US + int(random_() * 300 * clock.US)
            if random_() < late
            else 80_000 + min(int(-log(1.0 - random_()) * mean), 60 * clock.US)
        )
        for at in versions
    ]
    counts.late = sum(1 for v, at in zip(versions, first, strict=True) if at - v >= 600 * clock.US)
    # Events of one entity, in version order (an entity's events are appended in that order).
    by_entity: dict[tuple[str, int], list[int]] = {}
    for k, e in enumerate(events):
        by_entity.setdefault((e.entity, e.entity_id), []).append(k)
    own = [True] * len(events)
    rate = rates.out_of_order
    for ks in by_entity.values():
        # Runs of consecutive indices with the same version share one body.
        runs: list[list[int]] = []
        for k in ks:
            if runs and events[runs[-1][0]].version == events[k].version:
                runs[-1].append(k)
            else:
                runs.append([k])
        for run in runs:
            if len(run) > 1:
                for k in run:
                    own[k] = False
        for pos in range(len(runs) - 2, -1, -1):
            if random_() >= rate:
                continue
            newer = min(first[k] for k in runs[pos + 1])
            counts.out_of_order_versions += 1
            for k in runs[pos]:
                first[k] = newer + clock.US + int(random_() * 300 * clock.US)
    return first, own


def _junk(rng: random.Random, body: bytes) -> bytes:
    if rng.random() < 0.6:
        return body[: max(1, len(body) // 2)]  # a truncated payload
    return b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def deliver(
    events: Sequence[Event],
    rates: StreamRates,
    rng: random.Random,
    secret: str | None,
    rank: int,
) -> tuple[list[Delivery], StreamCounts]:
    """All deliveries of `events`, sorted by delivery time; `secret=None` leaves them unsigned."""
    counts = StreamCounts()
    first, own = _first_deliveries(events, rng, rates, counts)

    def signed(body: bytes) -> str:
        return sign(secret, body) if secret is not None else ""

    out: list[Delivery] = []
    append = out.append
    random_ = rng.random
    retry, resend, missing_id = rates.retry, rates.resend, rates.missing_event_id
    bad_signature, not_json = rates.bad_signature, rates.not_json
    unknown_topic, missing_topic = rates.unknown_topic, rates.missing_topic
    new_family = rates.new_family_topic
    kinds, by_topic, logical = counts.kinds, counts.stored_by_topic, counts.logical_by_topic
    family_counts = counts.new_family_by_topic

    def emit(at: int, kind: str, headers: Headers, body: bytes, topic: str | None) -> None:
        append(_new(Delivery, (at, rank, len(out), kind, headers, body)))
        kinds[kind] += 1
        if kind == BAD_SIGNATURE:
            return
        if topic is None:
            counts.missing_topic_stored += 1
        else:
            by_topic[topic] += 1

    last_body, signature = b"", ""
    for k, e in enumerate(events):
        at = first[k]
        body, topic = e.body, e.topic
        webhook = WEBHOOK_IDS[topic]
        eid = ids.event_id(rng)
        if body is not last_body:  # the events of one version share its body object
            last_body, signature = body, signed(body)
        # A sibling event shares this body: then this one keeps its id (see the module doc).
        family = random_() < new_family and topic != "TRANSFER_PARTIALLY_SENT"
        no_id = own[k] and not family and random_() < missing_id
        kind = MISSING_EVENT_ID if no_id else GENUINE
        headers = _headers(
            signature, topic, None if no_id else eid, None, webhook, len(body), e.headers
        )
        append(_new(Delivery, (at, rank, len(out), kind, headers, body)))
        kinds[kind] += 1
        by_topic[topic] += 1
        logical[topic] += 1
        if random_() < retry:
            retry_at = at
            for attempt in range(1 if random_() < 0.8 else 2):
                retry_at += (30 << attempt) * clock.US + int(random_() * 10 * clock.US)
                emit(retry_at, kind, headers, body, topic)
                counts.retries += 1
        if not no_id and random_() < resend:
            resend_at = at + int((600 + random_() * 10_200) * clock.US)
            resent = _headers(
                signature, topic, ids.event_id(rng), eid, webhook, len(body), e.headers
            )
            emit(resend_at, GENUINE, resent, body, topic)
            counts.resends += 1
        if random_() < bad_signature:
            forged = sign(_WRONG_SECRET, body) if random_() < 0.7 else "bm90LWEtc2lnbmF0dXJl"
            bad = _headers(forged, topic, ids.event_id(rng), None, webhook, len(body), e.headers)
            emit(at + int(random_() * 5 * clock.US), BAD_SIGNATURE, bad, body, topic)
        if random_() < not_json:
            junk = _junk(rng, body)
            hs = _headers(
                signed(junk), topic, ids.event_id(rng), None, webhook, len(junk), e.headers
            )
            emit(at + int(random_() * 60 * clock.US), NOT_JSON, hs, junk, topic)
            logical[topic] += 1
        if random_() < unknown_topic:
            odd_topic = UNKNOWN_TOPICS[int(random_() * len(UNKNOWN_TOPICS))]
            odd = json.dumps(
                {
                    "id": 800_000_000 + int(random_() * 100_000_000),
                    "type": odd_topic,
                    "reference_id": e.entity_id,
                    "amount": int(random_() * 10_000),
                    "date_created": clock.fmt_offset(e.entity_id, e.at),
                },
                separators=(",", ":"),
            ).encode()
            hs = _headers(
                signed(odd),
                odd_topic,
                ids.event_id(rng),
                None,
                WEBHOOK_IDS[odd_topic],
                len(odd),
                (),
            )
            emit(at + int(random_() * 60 * clock.US), UNKNOWN_TOPIC, hs, odd, odd_topic)
            logical[odd_topic] += 1
        if not no_id and random_() < missing_topic:
            copy = tuple(h for h in headers if h[0] != "X-Violet-Topic")
            emit(at + clock.US + int(random_() * 60 * clock.US), MISSING_TOPIC, copy, body, None)
        if family:
            sibling = new_family_topic(e.entity, topic)
            hs = _headers(
                signature,
                sibling,
                ids.event_id(rng),
                None,
                WEBHOOK_IDS[sibling],
                len(body),
                e.headers,
            )
            emit(at + int(random_() * 5 * clock.US), GENUINE, hs, body, sibling)
            logical[sibling] += 1
            family_counts[sibling] += 1

    out.sort()
    counts.deliveries = len(out)
    counts.stored = len(out) - kinds[BAD_SIGNATURE]
    if out:
        counts.first_us = out[0].at_us
        counts.last_us = out[-1].at_us
    return out, counts
