"""Simulated time: integer epoch seconds for entity clocks, microseconds for delivery times.

Violet writes timestamps in two spellings, `2025-04-08T16:21:52+0000` and `2023-11-07T05:31:56Z`;
both are produced here and `parse` reads either. Entity timestamps have whole-second precision,
so two versions of one entity always differ by at least a second (see `Stamp`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime

US = 1_000_000
MINUTE = 60
HOUR = 3_600
DAY = 86_400

Formatter = Callable[[int], str]


def day_start(d: date) -> int:
    """Epoch seconds of 00:00 UTC on `d`."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
_minute_prefix: dict[int, str] = {}


def _minute(sec: int) -> tuple[str, str]:
    # Formatting is on the hot path (several timestamps per payload): cache per minute.
    minute, second = divmod(sec, MINUTE)
    prefix = _minute_prefix.get(minute)
    if prefix is None:
        if len(_minute_prefix) > 1_000_000:
            _minute_prefix.clear()
        prefix = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * MINUTE))
        _minute_prefix[minute] = prefix
    return prefix, _TWO_DIGITS[second]


def fmt_offset(sec: int) -> str:
    """`2025-04-08T16:21:52+0000`."""
    prefix, second = _minute(sec)
    return prefix + second + "+0000"


def fmt_z(sec: int) -> str:
    """`2023-11-07T05:31:56Z`."""
    prefix, second = _minute(sec)
    return prefix + second + "Z"


def parse(text: str) -> int:
    """Epoch seconds of a Violet timestamp in either spelling (fractions are dropped)."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {text!r}")
    return int(parsed.timestamp())


def iso(sec: int) -> str:
    """ISO-8601 UTC with a `Z`, for summaries."""
    return fmt_z(sec)


def iso_us(us: int) -> str:
    return datetime.fromtimestamp(us / US, UTC).isoformat().replace("+00:00", "Z")


class Stamp:
    """Hands out strictly increasing `date_last_modified` seconds for one entity."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = -1

    def __call__(self, at: int) -> int:
        at = max(at, self.last + 1)
        self.last = at
        return at
