-- grain: one row per exception ever found (open or resolved); key: exception_id.
-- inputs: temp tables fin_exceptions_now, fin_workflow, fin_actions; finance.exception_log;
--   variable as_of.
-- outputs: finance.exception_log (new rows inserted, the others updated);
--   finance.exception_actions (replaced).
-- one row per exception ever found (open or resolved), keyed by exception_id =
-- 'EX-' + the first 16 hex digits of sha256(kind | subject), so the same problem keeps its id
-- across runs. Times are data time (the run's as_of): first_seen_at is set once; last_seen_at
-- is the newest run that found it; resolved_at is set when a run no longer finds it (and
-- cleared if it comes back).
update finance.exception_log as l
set
    severity = n.severity,
    currency = n.currency,
    amount_minor = n.amount_minor,
    order_id = n.order_id,
    bag_id = n.bag_id,
    merchant_id = n.merchant_id,
    transfer_id = n.transfer_id,
    refund_id = n.refund_id,
    opened_at = n.opened_at,
    last_seen_at = getvariable('as_of'),
    resolved_at = null,
    detail = n.detail,
    difference_minor = n.difference_minor,
    amount_exact = n.amount_exact
from fin_exceptions_now as n
where n.exception_id = l.exception_id;

insert into finance.exception_log by name
select
    n.exception_id, n.kind, n.severity, n.subject, n.currency, n.amount_minor, n.order_id,
    n.bag_id, n.merchant_id, n.transfer_id, n.refund_id, n.opened_at,
    getvariable('as_of') as first_seen_at, getvariable('as_of') as last_seen_at,
    null as resolved_at, n.detail, n.difference_minor, n.amount_exact
from fin_exceptions_now as n
where n.exception_id not in (select exception_id from finance.exception_log);

update finance.exception_log
set resolved_at = getvariable('as_of')
where resolved_at is null
    and exception_id not in (select exception_id from fin_exceptions_now);

-- status, from the desk's newest state-changing action and the exception as it is now:
--   resolved         no run finds it any more (resolved_at set)
--   open             nobody acted, reopened, a snooze has ended, or its kind or amount changed
--                    since the action (the action was about what it was then)
--   acknowledged     acknowledged as it is
--   snoozed          snoozed until snoozed_until (later than as_of)
--   resolved_by_hand marked resolved by a person, with the reason in note
update finance.exception_log as l
set
    status = case
        when l.resolved_at is not null then 'resolved'
        when w.state_action is null or w.state_action = 'reopen' then 'open'
        when w.seen_kind is distinct from l.kind
            or w.seen_amount_minor is distinct from l.amount_minor then 'open'
        when w.state_action = 'ack' then 'acknowledged'
        when w.state_action = 'snooze' and w.snoozed_until > getvariable('as_of') then 'snoozed'
        when w.state_action = 'snooze' then 'open'
        when w.state_action = 'resolve' then 'resolved_by_hand'
        else 'open'
    end,
    owner = w.owner,
    note = w.note,
    snoozed_until = case when w.state_action = 'snooze' then w.snoozed_until end,
    acknowledged_at = case
        when w.state_action = 'ack' and w.seen_kind is not distinct from l.kind
            and w.seen_amount_minor is not distinct from l.amount_minor then w.acknowledged_at
    end
from (
    select k.exception_id, w.*
    from (select exception_id from finance.exception_log) as k
    left join fin_workflow as w using (exception_id)
) as w
where w.exception_id = l.exception_id;

-- The desk's audit trail, as recorded (readers of the snapshot see who did what, when).
create or replace table finance.exception_actions as
select * from fin_actions
order by action_id;
