-- grain: one row per order (core.orders); key: order_id.
-- inputs: core.orders, core.bags; temp tables fin_payments, fin_refunds.
-- outputs: finance.order_payments (replaced).
-- Did we capture what the shopper owed, and what went back?
-- refund_state: from the bags' refunds (every bag fully refunded: REFUNDED, some refund:
-- PARTIALLY_REFUNDED), else the payment's own capture_status (REFUNDED / PARTIALLY_REFUNDED).
-- refunded_minor sums the refunds whose amount is known (a full refund: the bag total; a partial
-- one only from Refund data): refunded_exact is false when one is not.
create or replace table finance.order_payments as
with bags as (
    select order_id, count(*) as bag_count, cast(sum(total_minor) as bigint) as bag_total_minor,
        list(distinct currency) as currencies
    from core.bags
    group by order_id
),

refunds as (
    select
        order_id,
        count(*) as refunded_bags,
        count(*) filter (where refund_kind = 'FULL') as fully_refunded_bags,
        cast(coalesce(sum(amount_minor), 0) as bigint) as refunded_minor,
        bool_and(amount_minor is not null) as refunded_exact,
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
    p.capture_method,
    p.transfer_method,
    coalesce(p.capture_state, 'NO_PAYMENT') as capture_state,
    coalesce(p.captured_minor, 0) as captured_minor,
    coalesce(r.refunded_minor, 0) as refunded_minor,
    coalesce(r.refunded_exact, true) as refunded_exact,
    case
        when r.fully_refunded_bags >= b.bag_count then 'REFUNDED'
        when r.refunded_bags > 0 then 'PARTIALLY_REFUNDED'
        when p.payment_refund_status is not null then p.payment_refund_status
        else 'NONE'
    end as refund_state,
    coalesce(p.captured_minor, 0) - o.total_minor as difference_minor,
    p.payment_created_at,
    p.captured_at,
    coalesce(o.date_created, o.date_last_modified) as order_created_at,
    (p.currencies > 1 or p.currency is distinct from o.currency) and p.order_id is not null
        or len(list_filter(b.currencies, lambda c: c is distinct from o.currency)) > 0
        as currency_mixed
from core.orders as o
left join fin_payments as p on p.order_id = o.id
left join bags as b on b.order_id = o.id
left join refunds as r on r.order_id = o.id
