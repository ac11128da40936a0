"""Identifier spaces and cheap deterministic hashing.

Ids are integers, derived from an entity's index so that any part of the world can name any
other part without coordination (an order chunk knows the id of every bag it creates, a transfer
knows the distribution ids of its bags). Spaces never overlap for worlds of up to 10 million
orders and 100 thousand merchants.
"""

from __future__ import annotations

import base64
import random

_MASK64 = (1 << 64) - 1

MERCHANT_BASE = 10_000
PAYOUT_ACCOUNT_BASE = 1_010_000
OFFER_BASE = 3_000_000
OFFER_SKU_BASE = 13_000_000
COLLECTION_BASE = 23_000_000
SYNC_BASE = 27_000_000
ORDER_BASE = 50_000_000
BAG_BASE = 100_000_000  # + 4 * order index + position
ORDER_SKU_BASE = 200_000_000  # + 16 * order index + line
PAYMENT_BASE = 400_000_000  # + order index
REFUND_BASE = 450_000_000  # + bag index
TRANSFER_BASE = 500_000_000  # + bag index of the first bag it pays (a batch: first new bag)
DISTRIBUTION_BASE = 600_000_000  # + bag index
REVERSAL_BASE = 700_000_000  # + bag index of the refunded bag
WEBHOOK_BASE = 7_100


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 chain): stable across runs and platforms."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & _MASK64)) & _MASK64
        h = (h + 0x9E3779B97F4A7C15) & _MASK64
        z = h
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        h = z ^ (z >> 31)
    return h


def unit(*parts: int) -> float:
    """A float in [0, 1) from `mix(parts)`."""
    return (mix(*parts) >> 11) / (1 << 53)


def rng_for(seed: int, stream: int, index: int) -> random.Random:
    """An independent random stream for one part of the world."""
    return random.Random(mix(seed, stream, index))  # noqa: S311 (simulation, not secrets)


_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


def event_id(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from `rng`: `str(uuid.UUID(int=..., version=4))`."""
    h = f"{(rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def token(rng: random.Random, prefix: str, length: int = 24) -> str:
    """A provider-style identifier such as `acct_1Qx…` or `tr_3Rb…` (`length` divisible by 4)."""
    return prefix + base64.b64encode(rng.randbytes(length * 3 // 4), altchars=b"Zq").decode()


def bag_index(order_index: int, position: int) -> int:
    return order_index * 4 + position


# Stream numbers for rng_for: one per independent source of randomness.
STREAM_ORDER = 1
STREAM_CHUNK = 2
STREAM_MERCHANT = 3
STREAM_PLAN = 4
STREAM_DELIVERY = 5
STREAM_SHAPE = 6
