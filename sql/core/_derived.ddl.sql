-- The columns only the current tables have, filled by _derived.sql after every core merge
-- (added to the tables of warehouses made before them; idempotent).
alter table core.transfers add column if not exists merchant_id_source varchar;
alter table core.transfers add column if not exists partially_sent boolean;
alter table core.transfers add column if not exists reversal_failed_at timestamptz;
alter table core.bags add column if not exists merchant_name varchar;
