-- grain: one row per exception ever found (open or resolved), keyed by exception_id =
-- 'EX-' + the first 16 hex digits of sha256(kind | subject), so the same problem keeps its id
-- across runs. Times are data time (the run's as_of): first_seen_at is set once; last_seen_at
-- is the newest run that found it; resolved_at is set when a run no longer finds it (and
-- cleared if it comes back).
create table if not exists finance.exception_log (
    exception_id varchar primary key,
    kind varchar not null,
    severity varchar not null,
    subject varchar not null,
    currency varchar,
    amount_minor bigint,
    order_id bigint,
    bag_id bigint,
    merchant_id bigint,
    transfer_id bigint,
    refund_id bigint,
    opened_at timestamptz,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    resolved_at timestamptz,
    detail varchar not null,
    difference_minor bigint,
    amount_exact boolean
);
-- Logs written before these columns existed gain them (NULL until a run finds the row again).
alter table finance.exception_log add column if not exists difference_minor bigint;
alter table finance.exception_log add column if not exists amount_exact boolean;
-- build:
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
