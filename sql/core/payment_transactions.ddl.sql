-- The definition of core.payment_transactions: the current version of every payment transaction:
-- the columns of its history row (core.payment_transactions_history,
-- payment_transactions_history.ddl.sql) without validity, then the payload of the event that holds
-- it; created when missing (idempotent). Grain and build: payment_transactions.sql.
create table if not exists core.payment_transactions as
select * exclude (valid_from, valid_to, is_current)
from core.payment_transactions_history
where false;

-- zstd: large JSON is written faster and stored smaller than with the default string
-- compression (bench/RESULTS.md). The DuckDB dialect of sqlfluff does not parse the option
-- `using compression`, hence the fence.
-- noqa: disable=PRS
alter table core.payment_transactions add column if not exists payload json using compression zstd;
-- noqa: enable=PRS
