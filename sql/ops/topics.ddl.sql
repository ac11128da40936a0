-- The definition of ops.topics: created when missing (idempotent). Its grain and build:
-- topics.sql.
create table if not exists ops.topics (
    topic varchar,
    canonical_topic varchar,
    entity varchar,
    documented boolean,
    first_seen_at timestamptz,
    last_seen_at timestamptz,
    deliveries bigint,
    unique_events bigint,
    quarantined bigint,
    quarantine_reasons map(varchar, bigint)  -- noqa: LT01
);
