-- grain: fin_bag_dates: one row per bag ever fulfilled or refunded; fin_refunds: one row per
--   refunded bag; key: bag_id.
-- inputs: core.bags, core.bags_history; temp table fin_payments (_payments.sql).
-- outputs: temp tables fin_bag_dates and fin_refunds.
-- temp: fin_bag_dates, one row per bag that was ever fulfilled or refunded, from its history:
-- when it was first fulfilled (fulfillment_status past PROCESSING) and first fully or partly
-- refunded; fin_refunds, one row per refunded bag.
-- A refund reaches webhooks only as state (violet-webhooks.md, money flow 4): a bag version whose
-- status or financial_status is REFUNDED (full) or PARTIALLY_REFUNDED (partial), or a bag
-- CANCELED after its order's payment was captured (full). It is dated by the first version that
-- shows it. A full refund gives the shopper the bag total and takes the bag's whole merchant
-- amount back; a partial refund's amount is in no webhook: amount_minor and reversal_minor are
-- then NULL (amounts_exact false). When a bag's payload lists refunds[] (Violet's Refund API
-- objects, e.g. from a future import; never sent by webhook) their amounts are used instead.
create or replace temp table fin_bag_dates as
select
    h.id as bag_id,
    min(h.valid_from) filter (
        where h.fulfillment_status is not null and h.fulfillment_status <> 'PROCESSING'
    ) as fulfilled_at,
    min(h.valid_from) filter (
        where h.status = 'REFUNDED' or h.financial_status = 'REFUNDED'
            or (h.status = 'CANCELED' and p.captured_at <= h.valid_from)
    ) as full_refund_at,
    min(h.valid_from) filter (
        where h.status = 'PARTIALLY_REFUNDED' or h.financial_status = 'PARTIALLY_REFUNDED'
    ) as partial_refund_at,
from core.bags_history as h
left join fin_payments as p on p.order_id = h.order_id
where h.fulfillment_status is distinct from 'PROCESSING'
    or h.status in ('REFUNDED', 'PARTIALLY_REFUNDED', 'CANCELED')
    or h.financial_status in ('REFUNDED', 'PARTIALLY_REFUNDED')
group by h.id;

create or replace temp table fin_refunds as
with
listed as (
    select b.id as bag_id, unnest(cast(b.payload -> '$.refunds' as json[])) as r,
    from core.bags as b
    where json_array_length(b.payload, '$.refunds') > 0
),

api as (
    select
        bag_id,
        min(violet_int(r, '$.id')) as refund_id,
        cast(sum(violet_money(r, '$.amount')) as bigint) as amount_minor,
        cast(sum(violet_money(r, '$.merchant_transfer_reversal_amount')) as bigint)
            as reversal_minor,
        bool_and(violet_money(r, '$.amount') is not null
            and violet_money(r, '$.merchant_transfer_reversal_amount') is not null) as complete,
        min(coalesce(violet_ts(r ->> '$.date_created'), violet_ts(r ->> '$.date_last_modified')))
            as created_at,
    from listed
    group by bag_id
),

bags as (
    select
        b.id as bag_id,
        b.order_id,
        b.merchant_id,
        b.currency,
        b.total_minor,
        finance_merchant_amount(
            b.sub_total_minor, b.tax_total_minor, b.shipping_total_minor,
            b.discount_total_minor, b.commission_rate
        ) as expected_minor,
        d.full_refund_at,
        d.partial_refund_at,
        a.bag_id is not null and a.complete as listed,
        a.refund_id,
        a.amount_minor as listed_amount_minor,
        a.reversal_minor as listed_reversal_minor,
        a.created_at as listed_at,
    from core.bags as b
    left join fin_bag_dates as d on d.bag_id = b.id
    left join api as a on a.bag_id = b.id
    where d.full_refund_at is not null or d.partial_refund_at is not null or a.bag_id is not null
),

final as (
    select
        bag_id,
        order_id,
        merchant_id,
        currency,
        refund_id,
        case
            when full_refund_at is not null then 'FULL'
            when partial_refund_at is not null then 'PARTIAL'
            when listed_amount_minor >= total_minor then 'FULL'
            else 'PARTIAL'
        end as refund_kind,
        coalesce(full_refund_at, partial_refund_at, listed_at) as refunded_at,
        case
            when listed then listed_amount_minor
            when full_refund_at is not null then total_minor
        end as amount_minor,
        case
            when listed then listed_reversal_minor
            when full_refund_at is not null then expected_minor
        end as reversal_minor,
    from bags
)

select *, reversal_minor is not null as amounts_exact, from final
