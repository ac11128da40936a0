-- grain: one row per bag (core.bags); key: bag_id.
-- inputs: core.bags; temp tables fin_payments, fin_bag_dates, fin_refunds, fin_coverage,
--   fin_reversals, fin_batched_merchants; variables transfer_grace, scheduled_transfer_grace.
-- outputs: finance.bag_settlements (replaced).
-- What the
-- merchant is owed for the bag, what was transferred and taken back, and where it stands.
--   expected_minor    = sub_total + tax_total + shipping_total - discount_total - commission
--   reversal_due_minor = what refunds take back: a full refund the whole expected amount, a
--                      partial one its merchant_transfer_reversal_amount when Refund data gives
--                      it, else what a transfer made after it kept back (a netting line), else
--                      unknown (NULL; amounts_exact false either way)
--   due_minor         = expected_minor - reversal_due_minor (unknown counted as 0) for a bag
--                      that is owed or was paid, else 0 (rejected, cancelled before any transfer,
--                      or paid outside Violet)
--   transferred_minor = Σ allocations of transfers that moved money (netting lines negative)
--   reversed_minor    = money taken back by a reversal of the transfer that paid it alone
--   outstanding_minor = due_minor - (transferred_minor - reversed_minor)
--                      (> 0: the merchant is still owed money; < 0: money is to be taken back)
-- A bag is owed when its status is ACCEPTED, COMPLETED or PARTIALLY_REFUNDED, its order's payment
-- is captured and its transfer_method is AUTOMATIC or CUSTOM (DISABLED: no transfer through
-- Violet; EXTERNAL: the channel pays the merchant itself). settlement_state, first that applies:
--   FAILED    a transfer covering it failed or was only partly sent and none has moved money,
--             or its reversal failed
--   MISMATCH  a transfer covering it does not match what its bags should carry (or mixes
--             currencies)
--   NOT_DUE   nothing is owed and nothing was transferred
--   REVERSED  a refund's reversal is in; nothing outstanding
--   SETTLED   nothing outstanding and no reversal awaited
--   PENDING   owed and not (fully) transferred yet, money to be taken back, or a reversal (or
--             the netting of a refund into the merchant's next transfer) to come
create or replace table finance.bag_settlements as
with
coverage as (
    select
        bag_id,
        list(distinct transfer_id order by transfer_id) as transfer_ids,
        cast(coalesce(sum(allocated_minor) filter (where moved), 0) as bigint)
            as transferred_minor,
        cast(coalesce(sum(allocated_minor) filter (
            where transfer_status = 'PENDING' or partially_sent
        ), 0) as bigint) as pending_transfer_minor,
        bool_or(moved) as any_moved,
        max(transfer_created_at) filter (where moved) as last_paid_at,
        bool_or(transfer_status = 'FAILED' or partially_sent) as any_failed,
        bool_or(amount_mismatch or coalesce(currency_mixed, false)) as any_mismatch,
    from fin_coverage
    where bag_known
    group by bag_id
),

base as (
    select
        b.id as bag_id,
        b.order_id,
        b.merchant_id,
        b.merchant_name,
        b.currency,
        b.status as bag_status,
        coalesce(p.transfer_method, 'AUTOMATIC') as transfer_method,
        b.merchant_id in (select merchant_id from fin_batched_merchants) as paid_in_batches,
        b.status in ('ACCEPTED', 'COMPLETED', 'PARTIALLY_REFUNDED')
            and coalesce(p.capture_state = 'CAPTURED', false)
            and coalesce(p.transfer_method, 'AUTOMATIC') not in ('DISABLED', 'EXTERNAL') as owed,
        b.sub_total_minor,
        b.tax_total_minor,
        b.shipping_total_minor,
        b.discount_total_minor,
        b.total_minor,
        b.commission_rate,
        finance_commission(b.sub_total_minor, b.commission_rate) as commission_minor,
        finance_merchant_amount(
            b.sub_total_minor, b.tax_total_minor, b.shipping_total_minor,
            b.discount_total_minor, b.commission_rate
        ) as expected_minor,
        r.refund_kind,
        r.refunded_at,
        r.amount_minor as refunded_minor,
        -- A partial refund of unknown amount that a later transfer already accounted for (the
        -- merchant's next, netted transfer, or the first one made after it): what was kept.
        coalesce(r.reversal_minor, case when r.refunded_at < c.last_paid_at then
            finance_merchant_amount(
                b.sub_total_minor, b.tax_total_minor, b.shipping_total_minor,
                b.discount_total_minor, b.commission_rate
            ) - c.transferred_minor end) as reversal_due_minor,
        coalesce(r.amounts_exact, true) as refund_exact,
        coalesce(c.transfer_ids, []) as transfer_ids,
        coalesce(c.transferred_minor, 0) as transferred_minor,
        coalesce(c.pending_transfer_minor, 0) as pending_transfer_minor,
        case when v.reversal_state = 'REVERSED' and v.amount_exact then v.reversal_minor
            else 0 end as reversed_minor,
        coalesce(v.reversal_state = 'REVERSED' and not v.amount_exact, false)
            as reversed_amount_unknown,
        v.reversal_state,
        coalesce(c.any_moved, false) as any_moved,
        coalesce(c.any_failed, false) as any_failed,
        coalesce(c.any_mismatch, false) as any_mismatch,
        coalesce(v.reversal_state = 'FAILED', false) as reversal_failed,
        coalesce(v.reversal_state in ('DUE', 'MISSING', 'FAILED', 'NETTING'), false)
            as reversal_open,
        p.payment_created_at,
        p.captured_at,
        d.fulfilled_at,
        b.date_created,
    from core.bags as b
    left join fin_payments as p on p.order_id = b.order_id
    left join fin_bag_dates as d on d.bag_id = b.id
    left join fin_refunds as r on r.bag_id = b.id
    left join coverage as c on c.bag_id = b.id
    left join fin_reversals as v on v.bag_id = b.id
),

due as (
    select
        *,
        case when owed or any_moved then expected_minor - coalesce(reversal_due_minor, 0)
            else 0 end as due_minor,
        -- When a transfer is due: a merchant paid in batches is paid after fulfilment; everyone
        -- else soon after capture.
        case
            when paid_in_batches then fulfilled_at + getvariable('scheduled_transfer_grace')
            else coalesce(captured_at, payment_created_at, date_created)
                + getvariable('transfer_grace')
        end as transfer_due_at,
    from base
),

final as (
    select
        bag_id, order_id, merchant_id, merchant_name, currency, bag_status, transfer_method,
        paid_in_batches, owed, sub_total_minor, tax_total_minor, shipping_total_minor,
        discount_total_minor, total_minor, commission_rate, commission_minor, expected_minor,
        refund_kind, refunded_at, refunded_minor, reversal_due_minor, due_minor, transfer_ids,
        len(transfer_ids) as transfer_count, transferred_minor, pending_transfer_minor,
        reversed_minor, reversal_state,
        due_minor - (transferred_minor - reversed_minor) as outstanding_minor,
        refund_exact and not reversed_amount_unknown as amounts_exact,
        case
            when (any_failed and not any_moved) or reversal_failed then 'FAILED'
            when any_mismatch then 'MISMATCH'
            when due_minor = 0 and transferred_minor = 0 and pending_transfer_minor = 0
                and not any_moved then 'NOT_DUE'
            when due_minor - (transferred_minor - reversed_minor) = 0
                and reversal_state = 'REVERSED' then 'REVERSED'
            when due_minor - (transferred_minor - reversed_minor) = 0 and not reversal_open
                then 'SETTLED'
            else 'PENDING'
        end as settlement_state,
        payment_created_at,
        captured_at,
        fulfilled_at,
        transfer_due_at,
        date_created,
    from due
)

select * from final
order by bag_id  -- stored in bag order: exports and readers need not sort
