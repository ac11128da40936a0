-- The definition of core.bags: the current version of every bag: the columns of its history row
-- (core.bags_history, bags_history.ddl.sql) without validity, then the payload of the event that
-- holds it, then the columns _derived.sql derives; created when missing (idempotent). Grain and
-- build: bags.sql.
create table if not exists core.bags as
select * exclude (valid_from, valid_to, is_current)
from core.bags_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.bags add column if not exists payload json using compression zstd;
-- noqa: enable=PRS

-- The derived columns, filled by _derived.sql (only current tables have them).
alter table core.bags add column if not exists merchant_name varchar;
