-- grain: none (macros, no rows); key: none.
-- inputs: nothing.
-- outputs: the finance_* macros.
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

-- Minor units as exact decimal text in the currency's units, for people and spreadsheets:
-- 123456 USD -> '1234.56', -5 EUR -> '-0.05', 1500 JPY -> '1500', 1234 KWD -> '1.234'.
-- ISO-4217 exponents: 0 for the zero-decimal currencies, 3 for the three-decimal ones, else 2.
create or replace macro finance_exponent(currency) as
    case
        when currency in ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF',
                          'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') then 0
        when currency in ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') then 3
        else 2
    end;

create or replace macro finance_units(amount, currency) as
    case
        when amount is null then null
        when finance_exponent(currency) = 0 then amount::varchar
        else case when amount < 0 then '-' else '' end
            || (abs(amount) // (10 ** finance_exponent(currency))::bigint)::varchar || '.'
            || lpad((abs(amount) % (10 ** finance_exponent(currency))::bigint)::varchar,
                    finance_exponent(currency), '0')
    end;

-- An instant as ISO-8601 UTC text with a Z (spreadsheets misread '2026-11-01 23:59:58+00'):
-- seconds, and the fraction only when there is one.
create or replace macro finance_iso(ts) as
    case
        when ts is null then null
        when epoch_us(ts::timestamptz) % 1000000 = 0
            then strftime(ts::timestamptz at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ')
        else strftime(ts::timestamptz at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')
    end;
