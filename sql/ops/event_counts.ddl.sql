-- The definition of ops.event_counts: created when missing, and the tables of warehouses
-- made by earlier versions migrated (idempotent). Its grain and build: event_counts.sql.
create table if not exists ops.event_counts (
    day date,
    topic varchar,
    deliveries bigint,
    unique_events bigint,
    retries bigint,
    resends bigint,
    quarantined bigint
);
