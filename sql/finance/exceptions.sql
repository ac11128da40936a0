-- grain: one row per open exception; key: exception_id.
-- inputs: finance.exception_log, finance.exception_actions; variable as_of.
-- outputs: finance.exceptions (replaced).
-- one row per open exception (finance.exception_log rows not resolved by the data), the
-- queue finance works through, with the desk's workflow columns (status: open, acknowledged,
-- snoozed or resolved_by_hand; see exception_log.sql). age_days = as_of - opened_at (when the
-- problem began), in days.
create or replace table finance.exceptions as
select
    exception_id,
    kind,
    severity,
    currency,
    amount_minor,
    difference_minor,
    order_id,
    bag_id,
    merchant_id,
    transfer_id,
    first_seen_at,
    cast(round((epoch(getvariable('as_of')) - epoch(opened_at)) / 86400, 2) as decimal(10, 2))
        as age_days,
    detail,
    status,
    owner,
    note,
    snoozed_until,
    acknowledged_at,
    amount_exact,
    refund_id,
    opened_at,
    getvariable('as_of') as as_of
from finance.exception_log
where resolved_at is null
order by
    case severity when 'critical' then 0 when 'high' then 1 else 2 end,
    amount_minor desc,
    exception_id asc
