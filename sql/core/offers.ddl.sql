-- The definition of core.offers: the current version of every offer: the columns of its history row
-- (core.offers_history, offers_history.ddl.sql) without validity, then the payload of the event
-- that holds it; created when missing (idempotent). Grain and build: offers.sql.
create table if not exists core.offers as
select * exclude (valid_from, valid_to, is_current)
from core.offers_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.offers add column if not exists payload json using compression zstd;
-- noqa: enable=PRS
