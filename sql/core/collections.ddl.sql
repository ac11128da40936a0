-- The definition of core.collections: the current version of every collection: the columns of its
-- history row (core.collections_history, collections_history.ddl.sql) without validity, then the
-- payload of the event that holds it; created when missing (idempotent). Grain and build:
-- collections.sql.
create table if not exists core.collections as
select * exclude (valid_from, valid_to, is_current)
from core.collections_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.collections add column if not exists payload json using compression zstd;
-- noqa: enable=PRS
