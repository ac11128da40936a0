-- The definition of ops.delivery_lag: created when missing, and the tables of warehouses
-- made by earlier versions migrated (idempotent). Its grain and build: delivery_lag.sql.
create table if not exists ops.delivery_lag (
    day date,
    topic varchar,
    deliveries bigint,
    p50_seconds double,
    p95_seconds double,
    max_seconds double
);
