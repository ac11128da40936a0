-- The definition of core.bag_skus: the current version of every bag line: the columns of its
-- history row (core.bag_skus_history, bag_skus_history.ddl.sql) without validity, then the payload
-- of the event that holds it; created when missing (idempotent). Grain and build: bag_skus.sql.
create table if not exists core.bag_skus as
select * exclude (valid_from, valid_to, is_current)
from core.bag_skus_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.bag_skus add column if not exists payload json using compression zstd;
-- noqa: enable=PRS
