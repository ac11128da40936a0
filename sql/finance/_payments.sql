-- grain: one row per order with a payment; key: order_id.
-- inputs: core.payment_transactions, core.payment_transactions_history.
-- outputs: temp table fin_payments.
-- temp: one row per order with a payment: its payment transactions summed up.
-- capture_state: CAPTURED (some payment captured), UNCAPTURED (authorized or waiting, none
-- captured), FAILED (every payment failed), BYPASSED (captured outside Violet), OTHER (unknown
-- statuses only). capture_method and transfer_method are the newest payment's (absent:
-- AUTOMATIC, Violet's default). captured_at is when a payment first showed a captured status
-- (its history): the clock of the transfer grace.
create or replace temp table fin_payments as
with
captures as (
    select id, min(valid_from) as captured_at
    from core.payment_transactions_history
    where finance_captured(capture_status)
    group by id
),

final as (
    select
        p.order_id,
        count(*) as payment_count,
        arg_max(p.id, (coalesce(p.date_created, p.date_last_modified), p.id))
            as payment_transaction_id,
        arg_max(p.capture_status, (coalesce(p.date_created, p.date_last_modified), p.id))
            as capture_status,
        coalesce(
            arg_max(p.capture_method, (coalesce(p.date_created, p.date_last_modified), p.id)),
            'AUTOMATIC'
        ) as capture_method,
        coalesce(
            arg_max(p.transfer_method, (coalesce(p.date_created, p.date_last_modified), p.id)),
            'AUTOMATIC'
        ) as transfer_method,
        case
            when bool_or(finance_captured(p.capture_status)) then 'CAPTURED'
            when bool_or(p.capture_status in (
                'AUTHORIZED', 'REQUIRES_PAYMENT_METHOD', 'REQUIRES_AUTHORIZATION', 'REQUIRES_ACTION'
            )) then 'UNCAPTURED'
            when bool_or(p.capture_status = 'BYPASSED') then 'BYPASSED'
            when bool_and(p.capture_status = 'FAILED') then 'FAILED'
            else 'OTHER'
        end as capture_state,
        cast(coalesce(sum(p.amount_minor) filter (where finance_captured(p.capture_status)), 0)
            as bigint) as captured_minor,
        cast(coalesce(sum(p.amount_minor) filter (where p.capture_status in (
            'AUTHORIZED', 'REQUIRES_PAYMENT_METHOD', 'REQUIRES_AUTHORIZATION', 'REQUIRES_ACTION'
        )), 0) as bigint) as uncaptured_minor,
        -- A payment without date_created is dated by its first known version.
        min(coalesce(p.date_created, p.date_last_modified)) as payment_created_at,
        min(c.captured_at) as captured_at,
        max(p.date_last_modified) filter (where p.capture_status = 'FAILED') as failed_at,
        -- Violet's own word that money went back: the payment's status (its amount stays the
        -- captured one), with the ids of the refunds in related_refunds.
        case
            when bool_or(p.capture_status = 'REFUNDED') then 'REFUNDED'
            when bool_or(p.capture_status = 'PARTIALLY_REFUNDED') then 'PARTIALLY_REFUNDED'
        end as payment_refund_status,
        count(distinct p.currency) as currencies,
        any_value(p.currency) as currency,
    from core.payment_transactions as p
    left join captures as c on c.id = p.id
    where p.order_id is not null
    group by p.order_id
)

select * from final
