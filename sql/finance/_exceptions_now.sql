-- temp: every exception that is true at as_of, one row per (kind, subject). The rules and the
-- money at stake (amount_minor) of each kind are in the README ("For finance"). opened_at is
-- when the problem began (data time); subject names what it is about and makes exception_id.
create or replace temp table fin_exceptions_now as
with capture as (
    -- CAPTURE_MISSING: authorized (or waiting) and not captured after the capture grace.
    select
        'CAPTURE_MISSING' as kind, 'order:' || o.order_id as subject, o.currency,
        p.uncaptured_minor as amount_minor, o.order_id, null::bigint as bag_id,
        null::bigint as merchant_id, null::bigint as transfer_id, null::bigint as refund_id,
        p.payment_created_at as opened_at,
        'payment ' || p.payment_transaction_id || ' ' || lower(p.capture_status) || ' since '
            || finance_ts(p.payment_created_at) || ', not captured' as detail
    from finance.order_payments as o
    join fin_payments as p using (order_id)
    where o.capture_state = 'UNCAPTURED'
        and o.order_status not in ('CANCELED', 'REJECTED')
        and p.payment_created_at < getvariable('as_of') - getvariable('capture_grace')
    union all
    -- ... or an order past checkout with no payment transaction at all.
    select
        'CAPTURE_MISSING', 'order:' || o.order_id, o.currency, o.order_total_minor, o.order_id,
        null, null, null, null, o.order_created_at,
        'order ' || o.order_id || ' ' || lower(o.order_status) || ' since '
            || finance_ts(o.order_created_at) || ' has no payment transaction'
    from finance.order_payments as o
    where o.capture_state = 'NO_PAYMENT'
        and o.order_status in ('ACCEPTED', 'PROCESSING', 'COMPLETED', 'PARTIALLY_REFUNDED',
                               'REFUNDED')
        and o.order_created_at < getvariable('as_of') - getvariable('capture_grace')
    union all
    -- CAPTURE_FAILED: the payment failed and the order was not cancelled or rejected.
    select
        'CAPTURE_FAILED', 'order:' || o.order_id, o.currency, o.order_total_minor, o.order_id,
        null, null, null, null, p.failed_at,
        'payment ' || p.payment_transaction_id || ' capture failed '
            || coalesce(finance_ts(p.failed_at), '(no date)') || '; order '
            || lower(o.order_status) || ', not cancelled'
    from finance.order_payments as o
    join fin_payments as p using (order_id)
    where o.capture_state = 'FAILED' and o.order_status not in ('CANCELED', 'REJECTED')
    union all
    -- CAPTURE_AMOUNT_MISMATCH: captured, but not the order total.
    select
        'CAPTURE_AMOUNT_MISMATCH', 'order:' || o.order_id, o.currency, abs(o.difference_minor),
        o.order_id, null, null, null, null, o.payment_created_at,
        'captured ' || o.captured_minor || ' for an order total of ' || o.order_total_minor
            || ' (' || case when o.difference_minor > 0 then '+' else '' end
            || o.difference_minor || ')'
    from finance.order_payments as o
    where o.capture_state = 'CAPTURED' and o.difference_minor <> 0
),
transfer_missing as (
    -- TRANSFER_MISSING: an owed bag no transfer covers, past the transfer grace.
    select
        'TRANSFER_MISSING', 'bag:' || s.bag_id, s.currency, s.expected_minor, s.order_id,
        s.bag_id, s.merchant_id, null, null, s.payment_created_at,
        'bag ' || s.bag_id || ' ' || lower(s.bag_status) || ', payment captured, no transfer by '
            || finance_ts(s.transfer_due_at) || ' (due ' || s.expected_minor || ')'
    from finance.bag_settlements as s
    where s.owed and s.transfer_count = 0 and s.transfer_due_at < getvariable('as_of')
),
transfers as (
    -- Each transfer with what it covers; the order and bag it is about when it covers one bag;
    -- the first order and bag it names that the warehouse never received; its open errors.
    select
        t.*,
        c.bags,
        c.expected_minor,
        c.all_known,
        c.currency_mixed,
        case when c.bags = 1 then c.order_ids[1] end as one_order_id,
        case when c.bags = 1 then c.first_bag_id end as one_bag_id,
        c.unknown_bag_id,
        u.unknown_order_id,
        e.failed_at,
        e.messages
    from core.transfers as t
    left join (
        select
            transfer_id,
            count(*) as bags,
            list(distinct order_id) filter (where order_id is not null) as order_ids,
            min(bag_id) as first_bag_id,
            sum(expected_minor) as expected_minor,
            bool_and(bag_known) as all_known,
            coalesce(bool_or(currency_mixed), false) as currency_mixed,
            min(bag_id) filter (where not bag_known) as unknown_bag_id
        from fin_coverage
        group by transfer_id
    ) as c on c.transfer_id = t.id
    left join (
        select r.transfer_id, min(r.order_id) as unknown_order_id
        from (
            select id as transfer_id, try_cast(unnest(related_orders) as bigint) as order_id
            from core.transfers
        ) as r
        anti join core.orders as known on known.id = r.order_id
        where r.order_id is not null
        group by r.transfer_id
    ) as u on u.transfer_id = t.id
    left join (
        select
            transfer_id,
            max(date_created) filter (where error_code = 4460) as failed_at,
            string_agg(error_message, '; ') as messages
        from fin_transfer_errors
        where not resolved
        group by transfer_id
    ) as e on e.transfer_id = t.id
),
transfer_level as (
    -- TRANSFER_FAILED: the transfer's status is FAILED.
    select
        'TRANSFER_FAILED', 'transfer:' || t.id, t.currency, t.amount_minor, t.one_order_id,
        t.one_bag_id, t.merchant_id, t.id, null,
        coalesce(t.failed_at, t.date_last_modified),
        'transfer ' || t.id || ' of ' || t.amount_minor || ' failed '
            || finance_ts(t.date_last_modified) || coalesce(': ' || t.messages, '')
            || case when t.bags > 1 then ' (' || t.bags || ' bags)' else '' end
    from transfers as t
    where t.status = 'FAILED'
    union all
    -- TRANSFER_AMOUNT_MISMATCH: every covered bag known, amount <> Σ expected (or currencies mix).
    select
        'TRANSFER_AMOUNT_MISMATCH', 'transfer:' || t.id, t.currency,
        case when t.currency_mixed then t.amount_minor
            else abs(t.amount_minor - t.expected_minor) end,
        t.one_order_id, t.one_bag_id, t.merchant_id, t.id, null,
        coalesce(t.date_created, t.date_last_modified),
        case when t.currency_mixed
            then 'transfer ' || t.id || ' in ' || t.currency || ' covers bags in another currency'
            else 'transferred ' || t.amount_minor || ', expected ' || t.expected_minor
                || ' for ' || t.bags || ' bag' || case when t.bags > 1 then 's' else '' end
                || ' (' || case when t.amount_minor > t.expected_minor then '+' else '' end
                || (t.amount_minor - t.expected_minor) || ')'
        end
    from transfers as t
    where t.all_known and (t.amount_minor <> t.expected_minor or t.currency_mixed)
    union all
    -- UNKNOWN_REFERENCE: the transfer names an order or bag the warehouse never received.
    select
        'UNKNOWN_REFERENCE', 'transfer:' || t.id, t.currency, t.amount_minor, t.unknown_order_id,
        t.unknown_bag_id, t.merchant_id, t.id, null,
        coalesce(t.date_created, t.date_last_modified),
        'transfer ' || t.id || ' names '
            || concat_ws(' / ',
                case when t.unknown_order_id is not null then 'order ' || t.unknown_order_id end,
                case when t.unknown_bag_id is not null then 'bag ' || t.unknown_bag_id end)
            || ', never received'
    from transfers as t
    where (t.unknown_order_id is not null or t.unknown_bag_id is not null)
        and coalesce(t.date_created, t.date_last_modified)
            < getvariable('as_of') - getvariable('reference_grace')
    union all
    -- PAYOUT_ACCOUNT_BLOCKED: a pending transfer to an account that cannot receive money.
    select
        'PAYOUT_ACCOUNT_BLOCKED', 'transfer:' || t.id, t.currency, t.amount_minor,
        t.one_order_id, t.one_bag_id, t.merchant_id, t.id, null,
        coalesce(t.date_created, t.date_last_modified),
        'transfer ' || t.id || ' pending to payout account ' || a.id || ', which '
            || concat_ws(', ',
                case when not coalesce(a.is_active, false) then 'is not active' end,
                case when not coalesce(a.payouts_enabled, false) then 'has payouts disabled' end,
                case when len(a.past_due) > 0
                    then 'has requirements past due (' || array_to_string(a.past_due, ', ') || ')'
                end)
    from transfers as t
    join core.payout_accounts as a on a.id = t.payout_account_id
    where t.status = 'PENDING'
        and (not coalesce(a.is_active, false) or not coalesce(a.payouts_enabled, false)
             or coalesce(len(a.past_due), 0) > 0)
),
reversal as (
    -- REVERSAL_FAILED / REVERSAL_MISSING: merchant money a refund should have taken back.
    select
        'REVERSAL_' || r.reversal_state, 'transfer:' || r.transfer_id || '/refund:' || r.refund_id,
        r.currency, r.reversal_minor, r.order_id, r.bag_id, r.merchant_id, r.transfer_id,
        r.refund_id,
        coalesce(r.failed_at, r.date_created),
        'refund ' || r.refund_id || ' of bag ' || r.bag_id || ' ('
            || lower(coalesce(r.reason, 'refund')) || ' ' || coalesce(finance_ts(r.date_created), '')
            || '): reversal of ' || r.reversal_minor || ' from transfer ' || r.transfer_id
            || case when r.reversal_state = 'FAILED' then ' failed' else ' never came' end
    from fin_reversals as r
    where r.reversal_state in ('FAILED', 'MISSING')
),
found as (
    select * from capture
    union all select * from transfer_missing
    union all select * from transfer_level
    union all select * from reversal
)
select
    'EX-' || upper(substr(sha256(kind || '|' || subject), 1, 16)) as exception_id,
    case
        when kind in ('CAPTURE_FAILED', 'TRANSFER_FAILED', 'REVERSAL_FAILED',
                      'PAYOUT_ACCOUNT_BLOCKED') then 'critical'
        when kind in ('CAPTURE_MISSING', 'TRANSFER_MISSING', 'REVERSAL_MISSING') then 'high'
        else 'medium'
    end as severity,
    * replace (
        coalesce(detail, kind || ' on ' || subject || ': ' || amount_minor || ' ' || currency)
            as detail
    )
from found
