-- grain: one row per refunded bag that a transfer had already paid; key: bag_id.
-- inputs: core.transfers; temp tables fin_refunds, fin_coverage, fin_batched_merchants,
--   fin_payments, fin_transfer_errors; variables as_of, reversal_grace.
-- outputs: temp table fin_reversals.
-- temp: one row per refunded bag that a transfer had already paid, and what became of the
-- merchant money the refund takes back. The transfer is the newest one that moved money for the
-- bag before the refund. Violet reverses a transfer only when it paid that bag alone, under
-- AUTOMATIC transfers, to a merchant not paid in batches; otherwise the refund nets into the
-- merchant's next transfer (violet-webhooks.md, money flow 4). reversal_state, first that applies:
--   REVERSED      the transfer's status is REVERSED or PARTIALLY_REVERSED (or it lists reversals)
--   FAILED        a TRANSFER_REVERSAL_FAILED version, or an errors[] item, dated at or after the
--                 refund (the transfer keeps its status: the money stayed with the merchant)
--   NETTED        no reversal is expected: the refund nets into a later transfer, and a transfer
--                 created after the refund lists the bag again
--   NETTING       ... and none does yet (the merchant's next transfer will)
--   MISSING       no reversal more than the reversal grace after the refund
--   DUE           within the grace
-- reversal_minor: the money to take back: a full refund, all the transfer moved for the bag
-- (its allocation); a partial one, its merchant_transfer_reversal_amount when Refund data gives
-- it, else the allocation as an upper bound (amount_exact false).
create or replace temp table fin_reversals as
with
paid as (
    select
        r.bag_id,
        r.order_id,
        r.merchant_id,
        r.currency,
        r.refund_id,
        r.refund_kind,
        r.refunded_at,
        r.reversal_minor as refund_reversal_minor,
        c.transfer_id,
        c.transfer_bags,
        c.allocated_minor,
    from fin_refunds as r
    inner join fin_coverage as c on c.bag_id = r.bag_id and c.moved
    where c.transfer_created_at <= r.refunded_at
    qualify row_number() over (
        partition by r.bag_id order by c.transfer_created_at desc, c.transfer_id desc
    ) = 1
),

failures as (
    select p.bag_id, max(e.date_created) as failed_at,
        string_agg(e.error_message, '; ' order by e.date_created) as messages,
    from paid as p
    inner join fin_transfer_errors as e
        on e.transfer_id = p.transfer_id and e.date_created >= p.refunded_at
    group by p.bag_id
),

final as (
    select
        p.*,
        t.status as transfer_status,
        coalesce(len(t.transfer_reversals), 0) as listed_reversals,
        greatest(f.failed_at, case when t.reversal_failed_at >= p.refunded_at
            then t.reversal_failed_at end) as failed_at,
        f.messages,
        case
            when p.refund_kind = 'FULL' then p.allocated_minor
            else coalesce(p.refund_reversal_minor, p.allocated_minor)
        end as reversal_minor,
        p.refund_kind = 'FULL' or p.refund_reversal_minor is not null as amount_exact,
        exists(
            select 1 from fin_coverage as later
            where later.bag_id = p.bag_id and later.transfer_created_at > p.refunded_at
        ) as netted,
        p.transfer_bags = 1 and pay.transfer_method = 'AUTOMATIC'
            and p.merchant_id not in (select merchant_id from fin_batched_merchants)
            as reversal_expected,
    from paid as p
    inner join core.transfers as t on t.id = p.transfer_id
    left join failures as f on f.bag_id = p.bag_id
    left join fin_payments as pay on pay.order_id = p.order_id
)

select
    *,
    case
        when transfer_status in ('REVERSED', 'PARTIALLY_REVERSED') or listed_reversals > 0
            then 'REVERSED'
        when failed_at is not null then 'FAILED'
        when not coalesce(reversal_expected, false) and netted then 'NETTED'
        when not coalesce(reversal_expected, false) then 'NETTING'
        when refunded_at < getvariable('as_of') - getvariable('reversal_grace') then 'MISSING'
        else 'DUE'
    end as reversal_state,
from final
