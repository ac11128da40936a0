-- The definition of core.transfers: the current version of every transfer: the columns of its
-- history row (core.transfers_history, transfers_history.ddl.sql) without validity, then the
-- payload of the event that holds it, then the columns _derived.sql derives; created when missing
-- (idempotent). Grain and build: transfers.sql.
create table if not exists core.transfers as
select * exclude (valid_from, valid_to, is_current)
from core.transfers_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.transfers add column if not exists payload json using compression zstd;
-- noqa: enable=PRS

-- The derived columns, filled by _derived.sql (only current tables have them).
alter table core.transfers add column if not exists merchant_id_source varchar;
alter table core.transfers add column if not exists partially_sent boolean;
alter table core.transfers add column if not exists reversal_failed_at timestamptz;
