-- temp: one row per entry of a transfer's errors[] (newest transfer version). error_code 4460
-- is a failed transfer, 4470 a failed reversal (then refund_id names the refund); an error is
-- open until `resolved` is true.
create or replace temp table fin_transfer_errors as
with listed as (
    select t.id as transfer_id, unnest(cast(t.errors as json[])) as e
    from core.transfers as t
    where json_array_length(t.errors) > 0
)
select
    transfer_id,
    violet_int(e, '$.error_code') as error_code,
    violet_int(e, '$.refund_id') as refund_id,
    coalesce(try_cast(e ->> '$.resolved' as boolean), false) as resolved,
    e ->> '$.error_message' as error_message,
    violet_ts(e ->> '$.date_created') as date_created
from listed
