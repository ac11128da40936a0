-- The definition of core.payout_accounts: the current version of every payout account: the columns
-- of its history row (core.payout_accounts_history, payout_accounts_history.ddl.sql) without
-- validity, then the payload of the event that holds it; created when missing (idempotent). Grain
-- and build: payout_accounts.sql.
create table if not exists core.payout_accounts as
select * exclude (valid_from, valid_to, is_current)
from core.payout_accounts_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.payout_accounts add column if not exists payload json using compression zstd;
-- noqa: enable=PRS
