"""Simulated time: integer epoch seconds for entity clocks, microseconds for delivery times.

Violet writes timestamps in three spellings: `2025-04-08T16:21:52+0000`, `2023-11-07T05:31:56Z`
and `2025-07-10T06:04:39.054Z` (milliseconds). All three are produced here and `parse` reads
each, fractions included (it returns exact epoch microseconds).

Entity clocks tick in whole seconds (two versions of one entity always differ by at least a
second, see `Stamp`). The instant a payload shows for second `sec` of entity `key` (its id) is
`sec` plus `millis(key, sec)` milliseconds: a pure function of the two, so a version shows the
same instant wherever it is rendered (a payment inside an order and on its own topic). About one
instant in four carries milliseconds and is always spelled with them; the others are whole
seconds, spelled `+0000` or `Z` as each rendering chooses (`Formatter`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

US = 1_000_000
MINUTE = 60
HOUR = 3_600
DAY = 86_400

# (entity key, epoch seconds) -> the timestamp text of that instant.
Formatter = Callable[[int, int], str]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def day_start(d: date) -> int:
    """Epoch seconds of 00:00 UTC on `d`."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def millis(key: int, sec: int) -> int | None:
    """The milliseconds of entity `key`'s instant at `sec`, or None for a whole second."""
    h = (key * 0x9E3779B1 + sec * 0x85EBCA77) & 0xFFFFFFFF  # a cheap 32-bit mix (hot path)
    h = ((h ^ (h >> 15)) * 0x2C1B3C6D) & 0xFFFFFFFF
    h ^= h >> 12
    if h & 3:
        return None
    return (h >> 2) % 1000


def instant_us(key: int, sec: int) -> int:
    """Epoch microseconds of entity `key`'s instant at `sec` (what its payloads show)."""
    ms = millis(key, sec)
    return sec * US if ms is None else sec * US + ms * 1000


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))
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


def fmt_offset(key: int, sec: int) -> str:
    """`2025-04-08T16:21:52+0000`, or `2025-04-08T16:21:52.054Z` for an instant with millis."""
    prefix, second = _minute(sec)
    ms = millis(key, sec)
    return prefix + second + ("+0000" if ms is None else _MILLIS[ms])


def fmt_z(key: int, sec: int) -> str:
    """`2023-11-07T05:31:56Z`, or `2023-11-07T05:31:56.054Z` for an instant with millis."""
    prefix, second = _minute(sec)
    ms = millis(key, sec)
    return prefix + second + ("Z" if ms is None else _MILLIS[ms])


def parse(text: str) -> int:
    """Exact epoch microseconds of a Violet timestamp in any of the three spellings."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {text!r}")
    return (parsed - _EPOCH) // _ONE_US


def iso(sec: int) -> str:
    """ISO-8601 UTC with a `Z` and whole seconds, for summaries."""
    prefix, second = _minute(sec)
    return prefix + second + "Z"


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
