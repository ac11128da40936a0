"""The one rounding rule, the merchant amount, and the three timestamp spellings."""

from __future__ import annotations

import pytest

from simulator import clock, money


@pytest.mark.parametrize(
    ("amount", "bp", "expected"),
    [
        (10_000, 1500, 1500),  # exact
        (333, 1500, 50),  # 49.95 -> 50
        (330, 1500, 50),  # 49.5 -> 50: half rounds up
        (329, 1500, 49),  # 49.35 -> 49
        (1, 5000, 1),  # 0.5 -> 1
        (0, 2000, 0),
        (12_345, 1250, 1543),  # 1543.125 -> 1543
    ],
)
def test_part_rounds_half_up(amount: int, bp: int, expected: int) -> None:
    assert money.part(amount, bp) == expected


def test_merchant_amount_follows_the_documented_formula() -> None:
    sub, tax, shipping, discount, bp = 10_999, 880, 699, 1_100, 1500
    commission = money.commission(sub, bp)
    assert commission == 1650  # 1649.85
    expected = sub + tax + shipping - discount - commission
    assert money.merchant_amount(sub, tax, shipping, discount, bp) == expected == 9828


def test_partial_reversal_keeps_the_commission_on_the_refunded_goods() -> None:
    assert money.partial_reversal(2_000, 1500) == 1_700


@pytest.mark.parametrize("percent", [10.0, 12.0, 12.5, 15.0, 17.5, 20.0, 17.35, 0.01])
def test_commission_rate_round_trips_through_basis_points(percent: float) -> None:
    assert money.rate_percent(money.rate_bp(percent)) == percent


def test_conversion_is_integer_and_rounds_half_up() -> None:
    assert money.convert_from_usd_cents(1999, "USD") == 1999
    assert money.convert_from_usd_cents(1999, "EUR") == 1839  # 1839.08
    assert money.convert_from_usd_cents(1999, "JPY") == 2999  # 2998.5 -> 2999


def _whole_second_key(sec: int) -> int:
    """An entity key whose instant at `sec` is a whole second."""
    return next(k for k in range(1, 100) if clock.millis(k, sec) is None)


def _millis_key(sec: int) -> int:
    return next(k for k in range(1, 100) if clock.millis(k, sec) is not None)


def test_all_three_timestamp_spellings_format_and_parse() -> None:
    sec = 1_744_129_312
    whole = _whole_second_key(sec)
    assert clock.fmt_offset(whole, sec) == "2025-04-08T16:21:52+0000"
    assert clock.fmt_z(whole, sec) == "2025-04-08T16:21:52Z"
    assert clock.parse("2025-04-08T16:21:52+0000") == sec * clock.US
    assert clock.parse("2025-04-08T16:21:52Z") == sec * clock.US
    assert clock.parse("2023-11-07T05:31:56Z") == 1_699_335_116 * clock.US
    assert clock.parse("2025-07-10T06:04:39.054Z") == 1_752_127_479_054_000  # fractions kept
    assert clock.parse("2025-07-10T06:04:39.054321+0000") == 1_752_127_479_054_321
    keyed = _millis_key(sec)
    ms = clock.millis(keyed, sec)
    assert ms is not None
    expected = f"2025-04-08T16:21:52.{ms:03d}Z"
    assert clock.fmt_offset(keyed, sec) == clock.fmt_z(keyed, sec) == expected
    assert clock.parse(expected) == clock.instant_us(keyed, sec) == sec * clock.US + ms * 1000


def test_an_instant_depends_on_the_entity_and_second_only() -> None:
    """About a quarter of instants carry milliseconds; every spelling shows the same instant."""
    with_ms = 0
    for key in range(500_000_000, 500_000_400):
        for sec in (1_798_761_599, 1_798_761_600, 1_798_761_601):
            ms = clock.millis(key, sec)
            assert ms == clock.millis(key, sec)
            with_ms += ms is not None
            for fmt in (clock.fmt_offset, clock.fmt_z):
                assert clock.parse(fmt(key, sec)) == clock.instant_us(key, sec)
            assert clock.instant_us(key, sec) < clock.instant_us(key, sec + 1)
    assert 200 < with_ms < 400


def test_formatting_is_exact_across_minutes_days_and_years() -> None:
    for sec in (0, 59, 60, 86_399, 86_400, 1_798_761_599, 1_798_761_600):
        key = _whole_second_key(sec)
        assert clock.parse(clock.fmt_z(key, sec)) == sec * clock.US
        assert clock.parse(clock.fmt_offset(key, sec)) == sec * clock.US
        assert clock.iso(sec) == clock.fmt_z(key, sec)


def test_stamps_strictly_increase() -> None:
    stamp = clock.Stamp()
    assert [stamp(t) for t in (10, 10, 10, 9, 20)] == [10, 11, 12, 13, 20]
