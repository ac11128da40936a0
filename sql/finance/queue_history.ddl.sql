-- finance.queue_history: one row per finance run (its as_of and how many exceptions were open,
-- new and resolved), appended in the run's transaction by pipelines/finance/queue_history.py;
-- the HTML summary's trend. Run history, like exception_log's first_seen_at: a rebuild from
-- raw starts it again.
create table if not exists finance.queue_history (
    as_of timestamptz,
    recorded_at timestamptz,
    open_exceptions bigint,
    new_in_run bigint,
    resolved_in_run bigint
);
