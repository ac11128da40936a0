-- Finance arithmetic, stated once. Money is BIGINT minor units; nothing here touches a float.

-- commission = round(sub_total × commission_rate / 100), half up, in exact integer arithmetic:
-- commission_rate is DECIMAL(9,4) percent, so rate × 10^4 is an integer and the share is
-- sub_total × rate_e4 / 10^6. Adding half the divisor before the integer division rounds 0.5 up
-- (amounts are non-negative; a negative sub_total is rounded towards +infinity at .5 as well).
create or replace macro finance_commission(sub_total, commission_rate) as
    cast(
        (cast(sub_total as hugeint) * cast(round(commission_rate * 10000) as hugeint) + 500000)
        // 1000000
        as bigint
    );

-- What the merchant is owed for a bag (merchant as tax remitter, violet-webhooks.md money flow 2).
create or replace macro finance_merchant_amount(
    sub_total, tax_total, shipping_total, discount_total, commission_rate
) as
    sub_total + tax_total + shipping_total - discount_total
    - finance_commission(sub_total, commission_rate);

-- A timestamp as finance reads it in `detail`: UTC, seconds, ISO-8601.
create or replace macro finance_ts(ts) as strftime(ts at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ');

-- Capture statuses in which the shopper's money was taken.
create or replace macro finance_captured(status) as
    status in ('CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED');

-- Transfer statuses in which money reached the merchant's payout account. BYPASSED (money moved
-- outside Violet's transfer) counts as moved: nothing is left for Violet to send; so does
-- SUCCESS, which one of Violet's tables gives for EXTERNAL transfers (the channel paid).
create or replace macro finance_moved(status) as
    status in ('SENT', 'PARTIALLY_REVERSED', 'REVERSED', 'BYPASSED', 'SUCCESS');
