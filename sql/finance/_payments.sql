-- temp: one row per order with a payment: its payment transactions summed up.
-- capture_state: CAPTURED (some payment captured), UNCAPTURED (authorized or waiting, none
-- captured), FAILED (every payment failed), OTHER (unknown statuses only).
create or replace temp table fin_payments as
select
    order_id,
    count(*) as payment_count,
    arg_max(id, (coalesce(date_created, date_last_modified), id)) as payment_transaction_id,
    arg_max(capture_status, (coalesce(date_created, date_last_modified), id)) as capture_status,
    case
        when bool_or(finance_captured(capture_status)) then 'CAPTURED'
        when bool_or(capture_status in (
            'AUTHORIZED', 'REQUIRES_PAYMENT_METHOD', 'REQUIRES_AUTHORIZATION', 'REQUIRES_ACTION'
        )) then 'UNCAPTURED'
        when bool_and(capture_status = 'FAILED') then 'FAILED'
        else 'OTHER'
    end as capture_state,
    cast(coalesce(sum(amount_minor) filter (where finance_captured(capture_status)), 0)
        as bigint) as captured_minor,
    cast(coalesce(sum(amount_minor) filter (where capture_status in (
        'AUTHORIZED', 'REQUIRES_PAYMENT_METHOD', 'REQUIRES_AUTHORIZATION', 'REQUIRES_ACTION'
    )), 0) as bigint) as uncaptured_minor,
    -- A payment without date_created is dated by its first known version.
    min(coalesce(date_created, date_last_modified)) as payment_created_at,
    max(date_last_modified) filter (where capture_status = 'FAILED') as failed_at,
    count(distinct currency) as currencies,
    any_value(currency) as currency
from core.payment_transactions
where order_id is not null
group by order_id
