-- grain: one row per exception true at as_of; key: (kind, subject).
-- inputs: finance.order_payments, finance.bag_settlements, core.transfers, core.orders,
--   core.payout_accounts; temp tables fin_payments, fin_coverage, fin_reversals,
--   fin_transfer_errors; variables as_of, capture_grace, custom_capture_grace, reference_grace.
-- outputs: temp table fin_exceptions_now.
-- The rules, and what each
-- kind needs from Violet's webhooks, are in docs/finance.md. Each branch names its
-- columns; they are stacked by name.
--   amount_minor      money at stake (>= 0); amount_exact false when it is an upper bound (the
--                     webhooks do not carry the amount, e.g. a partial refund)
--   difference_minor  actual - expected (signed), where both are known
--   opened_at         when the problem began (data time); subject names what it is about and
--                     makes exception_id
create or replace temp table fin_exceptions_now as
with
capture_missing as (
    -- Authorized (or waiting) and not captured after the capture grace (CUSTOM capture: the
    -- channel captures later, so its grace is days).
    select
        'CAPTURE_MISSING' as kind,
        'order:' || o.order_id as subject,
        o.currency,
        p.uncaptured_minor as amount_minor,
        -p.uncaptured_minor as difference_minor,
        o.order_id,
        p.payment_created_at as opened_at,
        'payment ' || p.payment_transaction_id || ' ' || lower(p.capture_status) || ' since '
            || finance_ts(p.payment_created_at) || ', not captured'
            || case when p.capture_method = 'CUSTOM' then ' (custom capture)' else '' end
            as detail,
    from finance.order_payments as o
    inner join fin_payments as p using (order_id)
    where o.capture_state = 'UNCAPTURED'
        and o.order_status not in ('CANCELED', 'REJECTED')
        and p.payment_created_at < getvariable('as_of') - case
            when p.capture_method = 'CUSTOM' then getvariable('custom_capture_grace')
            else getvariable('capture_grace') end
),

no_payment as (
    -- An order past checkout with no payment transaction at all.
    select
        'CAPTURE_MISSING' as kind,
        'order:' || o.order_id as subject,
        o.currency,
        o.order_total_minor as amount_minor,
        -o.order_total_minor as difference_minor,
        o.order_id,
        o.order_created_at as opened_at,
        'order ' || o.order_id || ' ' || lower(o.order_status) || ' since '
            || finance_ts(o.order_created_at) || ' has no payment transaction' as detail,
    from finance.order_payments as o
    where o.capture_state = 'NO_PAYMENT'
        and o.order_status in ('ACCEPTED', 'PROCESSING', 'COMPLETED', 'PARTIALLY_REFUNDED',
                               'REFUNDED')
        and o.order_created_at < getvariable('as_of') - getvariable('capture_grace')
),

capture_failed as (
    -- The payment failed and the order was not cancelled or rejected.
    select
        'CAPTURE_FAILED' as kind,
        'order:' || o.order_id as subject,
        o.currency,
        o.order_total_minor as amount_minor,
        o.order_id,
        p.failed_at as opened_at,
        'payment ' || p.payment_transaction_id || ' capture failed '
            || coalesce(finance_ts(p.failed_at), '(no date)') || '; order '
            || lower(o.order_status) || ', not cancelled' as detail,
    from finance.order_payments as o
    inner join fin_payments as p using (order_id)
    where o.capture_state = 'FAILED' and o.order_status not in ('CANCELED', 'REJECTED')
),

capture_mismatch as (
    -- Captured, but not the order total.
    select
        'CAPTURE_AMOUNT_MISMATCH' as kind,
        'order:' || o.order_id as subject,
        o.currency,
        abs(o.difference_minor) as amount_minor,
        o.difference_minor,
        o.order_id,
        o.payment_created_at as opened_at,
        'captured ' || o.captured_minor || ' for an order total of ' || o.order_total_minor
            || ' (' || case when o.difference_minor > 0 then '+' else '' end
            || o.difference_minor || ')' as detail,
    from finance.order_payments as o
    where o.capture_state = 'CAPTURED' and o.difference_minor <> 0
),

transfer_missing as (
    -- An owed bag no transfer covers, past its due time (AUTOMATIC or CUSTOM transfers only:
    -- owed excludes DISABLED and EXTERNAL).
    select
        'TRANSFER_MISSING' as kind,
        'bag:' || s.bag_id as subject,
        s.currency,
        s.expected_minor as amount_minor,
        -s.expected_minor as difference_minor,
        s.order_id,
        s.bag_id,
        s.merchant_id,
        coalesce(s.captured_at, s.payment_created_at) as opened_at,
        'bag ' || s.bag_id || ' ' || lower(s.bag_status) || ', payment captured, no transfer by '
            || finance_ts(s.transfer_due_at) || ' (due ' || s.expected_minor || ')'
            || case when s.paid_in_batches then '; merchant paid in batches, fulfilled '
                || finance_ts(s.fulfilled_at) else '' end as detail,
    from finance.bag_settlements as s
    where s.owed and s.transfer_count = 0 and s.transfer_due_at < getvariable('as_of')
),

transfers as (
    -- Each transfer with what it covers; the order and bag it is about when it covers one bag;
    -- the first order and bag it names that the warehouse never received; its error messages.
    select
        t.*,
        coalesce(t.date_created, c.created_at) as created_at,
        c.bags,
        c.expected_lo_minor,
        c.expected_hi_minor,
        coalesce(c.amount_mismatch, false) as amount_mismatch,
        coalesce(c.all_known, false) as all_known,
        coalesce(c.currency_mixed, false) as currency_mixed,
        case when c.bags = 1 then c.order_ids[1] end as one_order_id,
        case when c.bags = 1 then c.first_bag_id end as one_bag_id,
        c.unknown_bag_id,
        u.unknown_order_id,
        e.messages,
    from core.transfers as t
    left join (
        select
            transfer_id,
            count(*) as bags,
            min(transfer_created_at) as created_at,
            list(distinct order_id) filter (where order_id is not null) as order_ids,
            min(bag_id) as first_bag_id,
            any_value(transfer_expected_lo_minor) as expected_lo_minor,
            any_value(transfer_expected_hi_minor) as expected_hi_minor,
            bool_or(amount_mismatch) as amount_mismatch,
            bool_and(bag_known) as all_known,
            bool_or(currency_mixed) as currency_mixed,
            min(bag_id) filter (where not bag_known) as unknown_bag_id,
        from fin_coverage
        group by transfer_id
    ) as c on c.transfer_id = t.id
    left join (
        select r.transfer_id, min(r.order_id) as unknown_order_id,
        from (
            select id as transfer_id, try_cast(unnest(related_orders) as bigint) as order_id,
            from core.transfers
        ) as r
        anti join core.orders as known on known.id = r.order_id
        where r.order_id is not null
        group by r.transfer_id
    ) as u on u.transfer_id = t.id
    left join (
        select transfer_id, string_agg(error_message, '; ' order by date_created) as messages,
        from fin_transfer_errors
        group by transfer_id
    ) as e on e.transfer_id = t.id
),

transfer_failed as (
    select
        'TRANSFER_FAILED' as kind,
        'transfer:' || t.id as subject,
        t.currency,
        t.amount_minor,
        t.one_order_id as order_id,
        t.one_bag_id as bag_id,
        t.merchant_id,
        t.id as transfer_id,
        t.date_last_modified as opened_at,
        'transfer ' || t.id || ' of ' || t.amount_minor || ' failed '
            || finance_ts(t.date_last_modified) || coalesce(': ' || t.messages, '')
            || case when t.bags > 1 then ' (' || t.bags || ' bags)' else '' end as detail,
    from transfers as t
    where t.status = 'FAILED'
),

transfer_partially_sent as (
    -- Only part of the transfer reached the merchant (a topic, not a status); how much is in
    -- no webhook, so the whole amount is at stake (an upper bound).
    select
        'TRANSFER_PARTIALLY_SENT' as kind,
        'transfer:' || t.id as subject,
        t.currency,
        t.amount_minor,
        false as amount_exact,
        t.one_order_id as order_id,
        t.one_bag_id as bag_id,
        t.merchant_id,
        t.id as transfer_id,
        t.date_last_modified as opened_at,
        'transfer ' || t.id || ' of ' || t.amount_minor || ' only partly sent '
            || finance_ts(t.date_last_modified) || ' (the part still owed is not in the webhook)'
            || coalesce(': ' || t.messages, '')
            || case when t.bags > 1 then ' (' || t.bags || ' bags)' else '' end as detail,
    from transfers as t
    where t.partially_sent and t.status <> 'FAILED'
),

transfer_mismatch as (
    -- Every covered bag known and the amount outside what its bags should carry (or currencies
    -- mix). The difference is to the nearest bound (bounds differ when a partial refund's amount
    -- is unknown).
    select
        'TRANSFER_AMOUNT_MISMATCH' as kind,
        'transfer:' || t.id as subject,
        t.currency,
        case
            when t.currency_mixed then t.amount_minor
            when t.amount_minor > t.expected_hi_minor then t.amount_minor - t.expected_hi_minor
            else t.expected_lo_minor - t.amount_minor
        end as amount_minor,
        case
            when t.currency_mixed then null
            when t.amount_minor > t.expected_hi_minor then t.amount_minor - t.expected_hi_minor
            else t.amount_minor - t.expected_lo_minor
        end as difference_minor,
        t.one_order_id as order_id,
        t.one_bag_id as bag_id,
        t.merchant_id,
        t.id as transfer_id,
        t.created_at as opened_at,
        case when t.currency_mixed
            then 'transfer ' || t.id || ' in ' || t.currency || ' covers bags in another currency'
            else 'transferred ' || t.amount_minor || ', expected '
                || case when t.expected_lo_minor = t.expected_hi_minor
                    then t.expected_hi_minor::varchar
                    else t.expected_lo_minor || '..' || t.expected_hi_minor
                        || ' (a partial refund of unknown amount)' end
                || ' for ' || t.bags || ' bag' || case when t.bags > 1 then 's' else '' end
        end as detail,
    from transfers as t
    where t.all_known and (t.amount_mismatch or t.currency_mixed)
),

unknown_reference as (
    -- The transfer names an order or bag the warehouse never received.
    select
        'UNKNOWN_REFERENCE' as kind,
        'transfer:' || t.id as subject,
        t.currency,
        t.amount_minor,
        t.unknown_order_id as order_id,
        t.unknown_bag_id as bag_id,
        t.merchant_id,
        t.id as transfer_id,
        t.created_at as opened_at,
        'transfer ' || t.id || ' names '
            || concat_ws(' / ',
                case when t.unknown_order_id is not null then 'order ' || t.unknown_order_id end,
                case when t.unknown_bag_id is not null then 'bag ' || t.unknown_bag_id end)
            || ', never received' as detail,
    from transfers as t
    where (t.unknown_order_id is not null or t.unknown_bag_id is not null)
        and t.created_at < getvariable('as_of') - getvariable('reference_grace')
),

payout_blocked as (
    -- A pending transfer to an account that cannot receive money.
    select
        'PAYOUT_ACCOUNT_BLOCKED' as kind,
        'transfer:' || t.id as subject,
        t.currency,
        t.amount_minor,
        t.one_order_id as order_id,
        t.one_bag_id as bag_id,
        t.merchant_id,
        t.id as transfer_id,
        t.created_at as opened_at,
        'transfer ' || t.id || ' pending to payout account ' || a.id || ', which '
            || concat_ws(', ',
                case when not coalesce(a.is_active, false) then 'is not active' end,
                case when not coalesce(a.payouts_enabled, false) then 'has payouts disabled' end,
                case when len(a.past_due) > 0
                    then 'has requirements past due (' || array_to_string(a.past_due, ', ') || ')'
                end) as detail,
    from transfers as t
    inner join core.payout_accounts as a on a.id = t.payout_account_id
    where t.status = 'PENDING'
        and (not coalesce(a.is_active, false) or not coalesce(a.payouts_enabled, false)
             or coalesce(len(a.past_due), 0) > 0)
),

reversal as (
    -- Merchant money a refund should have taken back from the transfer that paid the bag alone.
    select
        'REVERSAL_' || r.reversal_state as kind,
        'transfer:' || r.transfer_id || '/bag:' || r.bag_id as subject,
        r.currency,
        r.reversal_minor as amount_minor,
        r.amount_exact,
        case when r.reversal_state = 'MISSING' and r.amount_exact then -r.reversal_minor end
            as difference_minor,
        r.order_id,
        r.bag_id,
        r.merchant_id,
        r.transfer_id,
        r.refund_id,
        coalesce(r.failed_at, r.refunded_at) as opened_at,
        lower(r.refund_kind) || ' refund of bag ' || r.bag_id || ' ('
            || finance_ts(r.refunded_at) || '): reversal of '
            || case when r.amount_exact then '' else 'up to ' end || r.reversal_minor
            || ' from transfer ' || r.transfer_id
            || case when r.reversal_state = 'FAILED'
                then ' failed ' || finance_ts(r.failed_at) || coalesce(': ' || r.messages, '')
                else ' never came' end
            || case when r.amount_exact then ''
                else ' (a partial refund: its amount is not in the webhook)' end as detail,
    from fin_reversals as r
    where r.reversal_state in ('FAILED', 'MISSING')
),

found as (
    select * from capture_missing
    union all by name select * from no_payment
    union all by name select * from capture_failed
    union all by name select * from capture_mismatch
    union all by name select * from transfer_missing
    union all by name select * from transfer_failed
    union all by name select * from transfer_partially_sent
    union all by name select * from transfer_mismatch
    union all by name select * from unknown_reference
    union all by name select * from payout_blocked
    union all by name select * from reversal
)

select
    'EX-' || upper(substr(sha256(kind || '|' || subject), 1, 16)) as exception_id,
    kind,
    case
        when kind in ('CAPTURE_FAILED', 'TRANSFER_FAILED', 'TRANSFER_PARTIALLY_SENT',
                      'REVERSAL_FAILED', 'PAYOUT_ACCOUNT_BLOCKED') then 'critical'
        when kind in ('CAPTURE_MISSING', 'TRANSFER_MISSING', 'REVERSAL_MISSING') then 'high'
        else 'medium'
    end as severity,
    subject,
    currency,
    amount_minor,
    cast(difference_minor as bigint) as difference_minor,
    coalesce(amount_exact, true) as amount_exact,
    cast(order_id as bigint) as order_id,
    cast(bag_id as bigint) as bag_id,
    cast(merchant_id as bigint) as merchant_id,
    cast(transfer_id as bigint) as transfer_id,
    cast(refund_id as bigint) as refund_id,
    opened_at,
    coalesce(detail, kind || ' on ' || subject || ': ' || amount_minor || ' ' || currency)
        as detail,
from found
