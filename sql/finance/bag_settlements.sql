-- grain: one row per bag (core.bags). What the merchant is owed for it, what was transferred
-- and reversed, and where it stands.
--   expected_minor   = sub_total + tax_total + shipping_total - discount_total - commission
--   due_minor        = expected_minor - reversal_due_minor for a bag that is owed or was paid,
--                      else 0 (a rejected bag, or one cancelled before any transfer)
--   outstanding_minor = due_minor - (transferred_minor - reversed_minor)
--                      (> 0: the merchant is still owed money; < 0: money is to be taken back)
-- A bag is owed when its status is ACCEPTED, COMPLETED or PARTIALLY_REFUNDED and its order's
-- payment is captured. settlement_state, first that applies:
--   FAILED    a transfer covering it failed and none has moved money, or a reversal failed
--   MISMATCH  a transfer covering it does not match the sum of its bags' expected amounts
--             (or mixes currencies)
--   NOT_DUE   nothing is owed and nothing was transferred
--   REVERSED  refunds took merchant money back and every reversal is in; nothing outstanding
--   SETTLED   transferred in full; nothing outstanding
--   PENDING   owed and not (fully) transferred yet, or a reversal is still to come
create or replace table finance.bag_settlements as
with coverage as (
    select
        bag_id,
        list(distinct transfer_id order by transfer_id) as transfer_ids,
        cast(coalesce(sum(allocated_minor) filter (where finance_moved(transfer_status)), 0)
            as bigint) as transferred_minor,
        cast(coalesce(sum(allocated_minor) filter (where transfer_status = 'PENDING'), 0)
            as bigint) as pending_transfer_minor,
        bool_or(finance_moved(transfer_status)) as any_moved,
        bool_or(transfer_status = 'FAILED') as any_failed,
        bool_or(all_bags_known and transfer_minor <> transfer_expected_minor
            or coalesce(currency_mixed, false)) as any_mismatch
    from fin_coverage
    where bag_known
    group by bag_id
),
refunds as (
    select bag_id, cast(sum(amount_minor) as bigint) as refunded_minor,
        cast(sum(reversal_minor) as bigint) as reversal_due_minor
    from fin_refunds
    group by bag_id
),
reversals as (
    select
        bag_id,
        cast(sum(reversal_minor) filter (where reversal_state = 'REVERSED') as bigint)
            as reversed_minor,
        bool_or(reversal_state = 'FAILED') as any_reversal_failed,
        bool_or(reversal_state in ('DUE', 'MISSING', 'FAILED')) as reversal_open
    from fin_reversals
    group by bag_id
),
base as (
    select
        b.id as bag_id,
        b.order_id,
        b.merchant_id,
        b.currency,
        b.status as bag_status,
        b.status in ('ACCEPTED', 'COMPLETED', 'PARTIALLY_REFUNDED')
            and coalesce(p.capture_state = 'CAPTURED', false) as owed,
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
        coalesce(r.refunded_minor, 0) as refunded_minor,
        coalesce(r.reversal_due_minor, 0) as reversal_due_minor,
        coalesce(c.transfer_ids, []) as transfer_ids,
        coalesce(c.transferred_minor, 0) as transferred_minor,
        coalesce(c.pending_transfer_minor, 0) as pending_transfer_minor,
        coalesce(v.reversed_minor, 0) as reversed_minor,
        coalesce(c.any_moved, false) as any_moved,
        coalesce(c.any_failed, false) as any_failed,
        coalesce(c.any_mismatch, false) as any_mismatch,
        coalesce(v.any_reversal_failed, false) as any_reversal_failed,
        coalesce(v.reversal_open, false) as reversal_open,
        p.payment_created_at,
        coalesce(p.payment_created_at, b.date_created, b.date_last_modified)
            + getvariable('transfer_grace') as transfer_due_at,
        b.date_created
    from core.bags as b
    left join fin_payments as p on p.order_id = b.order_id
    left join coverage as c on c.bag_id = b.id
    left join refunds as r on r.bag_id = b.id
    left join reversals as v on v.bag_id = b.id
),
due as (
    select
        *,
        case when owed or transferred_minor > 0 then expected_minor - reversal_due_minor
            else 0 end as due_minor
    from base
)
select
    bag_id, order_id, merchant_id, currency, bag_status, owed,
    sub_total_minor, tax_total_minor, shipping_total_minor, discount_total_minor, total_minor,
    commission_rate, commission_minor, expected_minor, refunded_minor, reversal_due_minor,
    due_minor, transfer_ids, len(transfer_ids) as transfer_count, transferred_minor,
    pending_transfer_minor, reversed_minor,
    due_minor - (transferred_minor - reversed_minor) as outstanding_minor,
    case
        when (any_failed and not any_moved) or any_reversal_failed then 'FAILED'
        when any_mismatch then 'MISMATCH'
        when due_minor = 0 and transferred_minor = 0 and pending_transfer_minor = 0 then 'NOT_DUE'
        when due_minor - (transferred_minor - reversed_minor) = 0 and reversed_minor > 0
            and not reversal_open then 'REVERSED'
        when due_minor - (transferred_minor - reversed_minor) = 0 and not reversal_open
            then 'SETTLED'
        else 'PENDING'
    end as settlement_state,
    payment_created_at,
    transfer_due_at,
    date_created
from due
order by bag_id  -- stored in bag order: exports and readers need not sort
