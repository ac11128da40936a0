"""Everything that shapes a simulated world and its delivery stream, validated once.

Two runs with equal `Options` produce byte-identical deliveries (the app secret only changes the
signatures) and the same truth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from simulator import anomalies, clock

MAX_ORDERS = 10_000_000
DEFAULT_ANOMALY_RATE = 0.002


class OptionsError(ValueError):
    """The options cannot describe a world (a rate out of range, a span too short...)."""


@dataclass(frozen=True)
class StreamRates:
    """How Violet's delivery quirks show up, as probabilities per logical event or version."""

    retry: float = 0.03  # event delivered again with the same X-Violet-Event-Id
    resend: float = 0.005  # event resent: new id + X-Violet-Event-Id-Source
    out_of_order: float = 0.02  # a version delivered after the next version of its entity
    late: float = 0.02  # first delivery 10-15 min after the change instead of seconds
    z_timestamp: float = 0.3  # whole seconds spelled `...Z` instead of `+0000` in a body
    alt_spelling: float = 0.5  # ORDER_CANCELED / TRANSFER_PARTIALLY_REFUNDED spellings
    updated_beside: float = 1.0  # ORDER_UPDATED (and CAPTURE_STATUS_UPDATED) beside specifics
    bad_signature: float = 0.001  # extra copy signed with the wrong secret (401, not stored)
    not_json: float = 0.001  # extra genuine delivery whose body is not JSON
    unknown_topic: float = 0.001  # extra genuine delivery with a topic nobody documented
    missing_event_id: float = 0.002  # the event's deliveries carry no X-Violet-Event-Id
    missing_topic: float = 0.0005  # extra copy of a delivery without X-Violet-Topic
    new_family_topic: float = 0.002  # extra genuine event: same version, new name of its family

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# What the healthy world needs of the two graces it runs close to (simulator.orders): CUSTOM
# captures come up to 5 h after authorization, scheduled transfers once a day.
MIN_CUSTOM_CAPTURE_GRACE_DAYS = 0.25
MIN_SCHEDULED_TRANSFER_GRACE_DAYS = 1.1


@dataclass(frozen=True)
class Grace:
    """How long healthy work may take before finance calls it an exception (see anomalies)."""

    transfer_grace_days: float = 0.25
    reversal_grace_days: float = 0.25
    capture_grace_hours: float = 1.0
    custom_capture_grace_days: float = 3.0  # capture_method CUSTOM
    scheduled_transfer_grace_days: float = 2.0  # merchants paid in batches, from fulfilment

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def longest_s(self) -> int:
        """The longest grace an injected anomaly waits out (it never uses CUSTOM capture or
        scheduled transfers, so neither of their graces counts)."""
        return math.ceil(
            max(
                self.transfer_grace_days * clock.DAY,
                self.reversal_grace_days * clock.DAY,
                self.capture_grace_hours * clock.HOUR,
            )
        )


def _default_anomalies() -> Mapping[str, float]:
    return dict.fromkeys(anomalies.KINDS, DEFAULT_ANOMALY_RATE)


def ending_now(days: int, now: datetime | None = None) -> datetime:
    """The start of a span of `days` that ends at this second (UTC): the command line's default,
    so that a sent day ends at the moment it is sent."""
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return end - timedelta(days=days)


def parse_start(text: str) -> date | datetime:
    """--start: a date (its midnight, UTC) or an ISO-8601 instant (no offset means UTC)."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--start {text!r} is not an ISO-8601 date or time") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass(frozen=True)
class Options:
    seed: int = 1
    orders: int = 1000
    # The first instant of the span: a date means its midnight UTC. Fixed here, so that a world
    # is a pure function of its options; the command line defaults to a span ending now.
    start: date | datetime = date(2026, 11, 1)
    days: int = 1
    stream: StreamRates = field(default_factory=StreamRates)
    # Anomalies per kind, as a fraction of orders (count = round(orders * rate)).
    anomaly_rates: Mapping[str, float] = field(default_factory=_default_anomalies)
    grace: Grace = field(default_factory=Grace)
    # Also put the fields of Violet's API objects into payloads (bag refunds[], transfer
    # merchant_id, transfer_reversals[], related_distribution_ids, refund_id on reversal
    # errors), as a future import of the API would; the world is otherwise the same.
    api_fields: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.orders <= MAX_ORDERS:
            raise OptionsError(f"--orders must be between 1 and {MAX_ORDERS}, got {self.orders}")
        if self.days < 1:
            raise OptionsError(f"--days must be at least 1, got {self.days}")
        if self.seed < 0:
            raise OptionsError(f"--seed must be non-negative, got {self.seed}")
        for name, value in self.stream.as_dict().items():
            _check_probability(name, value)
        unknown = sorted(set(self.anomaly_rates) - set(anomalies.KINDS))
        if unknown:
            raise OptionsError(f"unknown anomaly kind(s): {', '.join(unknown)}")
        for kind, rate in self.anomaly_rates.items():
            _check_probability(kind, rate)
        for name, value in self.grace.as_dict().items():
            if not value > 0:
                raise OptionsError(f"{name} must be positive, got {value}")
        for name, least in (
            ("custom_capture_grace_days", MIN_CUSTOM_CAPTURE_GRACE_DAYS),
            ("scheduled_transfer_grace_days", MIN_SCHEDULED_TRANSFER_GRACE_DAYS),
        ):
            if getattr(self.grace, name) < least:
                raise OptionsError(
                    f"{name} must be at least {least} (the healthy world needs it), "
                    f"got {getattr(self.grace, name)}"
                )
        # A private copy in the canonical kind order (kinds not given are not injected).
        rates = {k: float(self.anomaly_rates.get(k, 0.0)) for k in anomalies.KINDS}
        object.__setattr__(self, "anomaly_rates", rates)

    @property
    def start_s(self) -> int:
        if isinstance(self.start, datetime):
            at = self.start if self.start.tzinfo else self.start.replace(tzinfo=UTC)
            return int(at.timestamp())
        return clock.day_start(self.start)

    @property
    def as_of_s(self) -> int:
        """End of the simulated span: nothing happens after it (deliveries may still lag)."""
        return self.start_s + self.days * clock.DAY

    def anomaly_counts(self) -> dict[str, int]:
        return {k: round(self.orders * r) for k, r in self.anomaly_rates.items()}

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "orders": self.orders,
            "start": self.start.isoformat(),
            "days": self.days,
            "stream_rates": self.stream.as_dict(),
            "anomaly_rates": dict(self.anomaly_rates),
            "api_fields": self.api_fields,
        }


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise OptionsError(f"rate {name} must be within [0, 1], got {value}")
