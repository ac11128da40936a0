-- The definition of finance.exception_log: created when missing, and the tables of warehouses
-- made by earlier versions migrated (idempotent). Its grain and build: exception_log.sql.
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
-- The finance desk's workflow (pipelines/finance/desk/store.py, folded by _workflow.sql), set on
-- every run.
alter table finance.exception_log add column if not exists status varchar;
alter table finance.exception_log add column if not exists owner varchar;
alter table finance.exception_log add column if not exists note varchar;
alter table finance.exception_log add column if not exists snoozed_until timestamptz;
alter table finance.exception_log add column if not exists acknowledged_at timestamptz;
