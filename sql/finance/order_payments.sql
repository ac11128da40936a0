-- grain: one row per order (core.orders). Did we capture what the shopper owed?
create or replace table finance.order_payments as
with bags as (
    select order_id, count(*) as bag_count, cast(sum(total_minor) as bigint) as bag_total_minor,
        list(distinct currency) as currencies
    from core.bags
    group by order_id
),
refunds as (
    select order_id, cast(sum(amount_minor) as bigint) as refunded_minor
    from fin_refunds
    group by order_id
)
select
    o.id as order_id,
    o.currency,
    o.status as order_status,
    o.total_minor as order_total_minor,
    coalesce(b.bag_total_minor, 0) as bag_total_minor,
    coalesce(b.bag_count, 0) as bag_count,
    coalesce(p.payment_count, 0) as payment_count,
    p.payment_transaction_id,
    p.capture_status,
    coalesce(p.capture_state, 'NO_PAYMENT') as capture_state,
    coalesce(p.captured_minor, 0) as captured_minor,
    coalesce(r.refunded_minor, 0) as refunded_minor,
    case
        when coalesce(r.refunded_minor, 0) = 0 then 'NONE'
        when r.refunded_minor >= coalesce(p.captured_minor, 0) then 'REFUNDED'
        else 'PARTIALLY_REFUNDED'
    end as refund_state,
    coalesce(p.captured_minor, 0) - o.total_minor as difference_minor,
    p.payment_created_at,
    coalesce(o.date_created, o.date_last_modified) as order_created_at,
    (p.currencies > 1 or p.currency is distinct from o.currency) and p.order_id is not null
        or len(list_filter(b.currencies, lambda c: c is distinct from o.currency)) > 0
        as currency_mixed
from core.orders as o
left join fin_payments as p on p.order_id = o.id
left join bags as b on b.order_id = o.id
left join refunds as r on r.order_id = o.id
