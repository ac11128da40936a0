-- grain: one row per (transfer, bag it covers); key: (transfer_id, bag_id).
-- inputs: core.transfers, core.transfers_history, core.bags; temp table fin_refunds
--   (_refunds.sql).
-- outputs: temp tables fin_coverage and fin_batched_merchants.
-- temp: one row per (transfer, bag it covers), from core.transfers.related_bags, with what the
-- transfer should carry for the bag and its allocation.
-- A bag's covering transfers are taken in the order they were created (bag_seq). To the first
-- it contributes its expected merchant amount, less a refund made before that transfer (a full
-- one: all of it; a partial one: an amount no webhook gives, so anywhere from nothing to all of
-- it). To each later transfer (a netted, scheduled transfer listing the bag again) it
-- contributes minus the refunds made since the previous one: refunds net into the merchant's
-- next transfer (violet-webhooks.md, money flow 3 and 4). share_lo_minor / share_hi_minor bound
-- the contribution (equal when every amount is known); a transfer matches when its amount lies
-- between the sums of its bags' bounds.
-- allocated_minor: each known bag gets share_hi_minor, less the part of a shortfall its own
-- uncertainty explains (a bag whose share is a range absorbs up to hi - lo of it, in bag order),
-- and the last known bag (highest id) also takes what is left of the difference, so the
-- allocations of a transfer always sum to its amount.
-- moved: the transfer moved money (finance_moved) and was not announced as only partly sent.
create or replace temp table fin_coverage as
with
created as (
    select id, min(valid_from) as first_seen_at
    from core.transfers_history
    group by id
),

pairs as (
    select distinct t.id as transfer_id, try_cast(unnest(t.related_bags) as bigint) as bag_id,
    from core.transfers as t
),

joined as (
    select
        p.transfer_id,
        p.bag_id,
        t.status as transfer_status,
        finance_moved(t.status) and not coalesce(t.partially_sent, false) as moved,
        coalesce(t.partially_sent, false) as partially_sent,
        t.amount_minor as transfer_minor,
        t.currency as transfer_currency,
        t.merchant_id as transfer_merchant_id,
        coalesce(t.date_created, c.first_seen_at) as transfer_created_at,
        b.id is not null as bag_known,
        b.order_id,
        b.merchant_id as bag_merchant_id,
        b.currency as bag_currency,
        finance_merchant_amount(
            b.sub_total_minor, b.tax_total_minor, b.shipping_total_minor,
            b.discount_total_minor, b.commission_rate
        ) as expected_minor,
        r.refunded_at,
        r.reversal_minor,
    from pairs as p
    inner join core.transfers as t on t.id = p.transfer_id
    left join created as c on c.id = p.transfer_id
    left join core.bags as b on b.id = p.bag_id
    left join fin_refunds as r on r.bag_id = p.bag_id
    where p.bag_id is not null
),

sequenced as (
    select
        *,
        row_number() over by_bag as bag_seq,
        lag(transfer_created_at) over by_bag as previous_created_at,
    from joined
    window by_bag as (partition by bag_id order by transfer_created_at, transfer_id)
),

shares as (
    select
        *,
        case
            when not bag_known then null
            when bag_seq = 1 and refunded_at < transfer_created_at
                then expected_minor - coalesce(reversal_minor, expected_minor)
            when bag_seq = 1 then expected_minor
            when refunded_at >= previous_created_at and refunded_at < transfer_created_at
                then -coalesce(reversal_minor, expected_minor)
            else 0
        end as share_lo_minor,
        case
            when not bag_known then null
            when bag_seq = 1 and refunded_at < transfer_created_at
                then expected_minor - coalesce(reversal_minor, 0)
            when bag_seq = 1 then expected_minor
            when refunded_at >= previous_created_at and refunded_at < transfer_created_at
                then -coalesce(reversal_minor, 0)
            else 0
        end as share_hi_minor,
    from sequenced
),

absorbed as (
    -- The shortfall below the upper bound, spread over the bags whose share is uncertain.
    select
        *,
        least(
            share_hi_minor - share_lo_minor,
            greatest(
                0,
                greatest(0, sum(share_hi_minor) over by_transfer - transfer_minor)
                - coalesce(sum(share_hi_minor - share_lo_minor) over (
                    partition by transfer_id order by bag_id
                    rows between unbounded preceding and 1 preceding
                ), 0)
            )
        ) as absorbed_minor,
    from shares
    window by_transfer as (partition by transfer_id)
),

final as (
    select
        * exclude (previous_created_at, refunded_at, reversal_minor, absorbed_minor),
        cast(sum(share_lo_minor) over by_transfer as bigint) as transfer_expected_lo_minor,
        cast(sum(share_hi_minor) over by_transfer as bigint) as transfer_expected_hi_minor,
        count(*) over by_transfer as transfer_bags,
        bool_and(bag_known) over by_transfer as all_bags_known,
        bool_or(bag_currency is distinct from transfer_currency) filter (where bag_known)
            over by_transfer as currency_mixed,
        cast(case when bag_known then share_hi_minor - absorbed_minor + case
            when bag_id = max(bag_id) filter (where bag_known) over by_transfer
            then transfer_minor - sum(share_hi_minor - absorbed_minor) over by_transfer
            else 0 end
        end as bigint) as allocated_minor,
    from absorbed
    window by_transfer as (partition by transfer_id)
)

select
    *,
    all_bags_known and not coalesce(currency_mixed, false)
        and transfer_minor not between transfer_expected_lo_minor and transfer_expected_hi_minor
        as amount_mismatch,
from final;

-- Merchants paid in batches (scheduled transfers: a setting no webhook shows): those a transfer
-- covering two or more of their bags has paid. Their bags wait for fulfilment and the next batch
-- (TRANSFER_MISSING uses scheduled_transfer_grace), and their refunds are netted, not reversed.
create or replace temp table fin_batched_merchants as
select distinct bag_merchant_id as merchant_id,
from fin_coverage
where bag_known and transfer_bags >= 2 and bag_merchant_id is not null;
