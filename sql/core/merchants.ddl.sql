-- The definition of core.merchants: the current version of every merchant: the columns of its
-- history row (core.merchants_history, merchants_history.ddl.sql) without validity, then the
-- payload of the event that holds it; created when missing (idempotent). Grain and build:
-- merchants.sql.
create table if not exists core.merchants as
select * exclude (valid_from, valid_to, is_current)
from core.merchants_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.merchants add column if not exists payload json using compression zstd;
-- noqa: enable=PRS
