"""The plan of a world: when things happen, how big it is, and which orders go wrong.

Everything here is decided up front from the options alone, so every order chunk (possibly in
another process) sees the same plan:

- the **span** `[start, as_of)`; merchants onboard in the first hour, orders arrive from
  `start + 1 h` until `as_of`, denser in the (UTC) afternoon and evening;
- order `i`'s submit time is a pure function of `(seed, i)`, increasing with `i`;
- the **anomaly window** is the early part of the span from which every injected anomaly's order
  is drawn: it ends at `min(start + span / 2, as_of - longest grace - 4 h)`, so the anomaly's
  mechanics (accept, transfer, cancel, reversal: under 4 h) and then its grace period have both
  run out before `as_of` (only the graces anomalies wait out count: capture, transfer and
  reversal; anomalies never use CUSTOM capture or scheduled transfers);
- **merchants**: active ones (about one per 20 orders, 3 to 5,000), a few that churn and never
  sell, and one dedicated merchant per PAYOUT_ACCOUNT_BLOCKED anomaly.
"""

from __future__ import annotations

import bisect
import math

from simulator import anomalies, clock, ids
from simulator.options import Options, OptionsError

CHUNK_ORDERS = 2_000  # orders simulated together (transfers are netted within a chunk)
ORDER_LEAD_S = clock.HOUR  # orders start once the first merchants are ready
ANOMALY_CHAIN_S = 4 * clock.HOUR  # longest time an anomaly's own events take to play out
MAX_MERCHANTS = 90_000

# Relative order intensity per UTC hour (US-heavy traffic: quiet mornings, busy evenings).
HOURLY_WEIGHTS: tuple[int, ...] = (
    9, 8, 7, 5, 4, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10,
)  # fmt: skip


class WorldPlan:
    """The decided shape of one world (picklable: order chunks receive it)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.seed = options.seed
        self.orders = options.orders
        self.start_s = options.start_s
        self.as_of_s = options.as_of_s
        self.order_start_s = self.start_s + ORDER_LEAD_S
        span = self.as_of_s - self.start_s
        self.anomaly_end_s = min(
            self.start_s + span // 2,
            self.as_of_s - options.grace.longest_s - ANOMALY_CHAIN_S,
        )
        self._build_intensity()
        self.n_chunks = math.ceil(self.orders / CHUNK_ORDERS)

        counts = options.anomaly_counts()
        self.anomalies = self._assign_anomalies(counts)
        self._anomalies_by_chunk: dict[int, dict[int, str]] = {}
        for i, kind in sorted(self.anomalies.items()):
            self._anomalies_by_chunk.setdefault(i // CHUNK_ORDERS, {})[i] = kind
        self.blocked_orders = sorted(
            i for i, k in self.anomalies.items() if k == anomalies.PAYOUT_ACCOUNT_BLOCKED
        )
        self.n_active = max(3, min(5_000, math.ceil(self.orders / 20)))
        self.n_churn = max(1, self.n_active // 20)
        self.n_merchants = self.n_active + self.n_churn + len(self.blocked_orders)
        if self.n_merchants > MAX_MERCHANTS:
            raise OptionsError(
                f"{len(self.blocked_orders)} PAYOUT_ACCOUNT_BLOCKED anomalies need too many "
                "merchants; lower that rate"
            )

    # -- order arrival -----------------------------------------------------------------------

    def _build_intensity(self) -> None:
        starts: list[int] = []
        cum: list[float] = []
        total = 0.0
        t = self.order_start_s
        while t < self.as_of_s:
            end = min((t // clock.HOUR + 1) * clock.HOUR, self.as_of_s)
            starts.append(t)
            total += HOURLY_WEIGHTS[(t // clock.HOUR) % 24] * (end - t)
            cum.append(total)
            t = end
        self._seg_starts = starts
        self._seg_cum = cum

    def order_time(self, i: int) -> int:
        """Submit time of order `i` (epoch seconds); strictly increasing in `i` up to rounding."""
        u = (i + ids.unit(self.seed, ids.STREAM_PLAN, i)) / self.orders
        target = u * self._seg_cum[-1]
        k = bisect.bisect_right(self._seg_cum, target)
        k = min(k, len(self._seg_cum) - 1)
        before = self._seg_cum[k - 1] if k else 0.0
        seg_start = self._seg_starts[k]
        weight = HOURLY_WEIGHTS[(seg_start // clock.HOUR) % 24]
        return min(seg_start + int((target - before) / weight), self.as_of_s - 1)

    def chunk_range(self, chunk: int) -> range:
        lo = chunk * CHUNK_ORDERS
        return range(lo, min(lo + CHUNK_ORDERS, self.orders))

    # -- anomalies -----------------------------------------------------------------------------

    def _orders_in_anomaly_window(self) -> int:
        """How many orders (a prefix of the indices) are submitted inside the anomaly window."""
        lo, hi = 0, self.orders
        while lo < hi:
            mid = (lo + hi) // 2
            if self.order_time(mid) <= self.anomaly_end_s:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _assign_anomalies(self, counts: dict[str, int]) -> dict[int, str]:
        wanted = sum(counts.values())
        if not wanted:
            return {}
        if self.anomaly_end_s <= self.order_start_s + 10 * clock.MINUTE:
            raise OptionsError(
                "the span is too short for the grace periods: anomalies must happen before "
                f"as_of - grace - 4 h; raise --days (now {self.options.days}) or lower the grace"
            )
        eligible = self._orders_in_anomaly_window()
        if wanted > eligible:
            raise OptionsError(
                f"{wanted} anomalies requested but only {eligible} orders fall in the anomaly "
                "window; lower the anomaly rates or raise --orders"
            )
        rng = ids.rng_for(self.seed, ids.STREAM_PLAN, 0)
        picks = rng.sample(range(eligible), wanted)
        kinds = [kind for kind in anomalies.KINDS for _ in range(counts.get(kind, 0))]
        return dict(zip(picks, kinds, strict=True))

    def anomalies_in(self, chunk: int) -> dict[int, str]:
        """Order index -> anomaly kind, for the orders of `chunk`."""
        return self._anomalies_by_chunk.get(chunk, {})
