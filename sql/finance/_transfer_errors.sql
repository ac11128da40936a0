-- grain: one row per entry of a current transfer's errors[]; key: (transfer_id, position in
--   errors[]).
-- inputs: core.transfers.
-- outputs: temp table fin_transfer_errors.
-- temp: one row per entry of a transfer's errors[] (its current version). Violet documents the
-- item's payout_transfer_id, error_code (an integer; the codes are undocumented), error_message
-- and date_created; nothing says an error is resolved, so an error counts by its date: one dated
-- at or after a bag's refund on a transfer that moved money is a failed reversal (the transfer's
-- own failure shows in its status). refund_id is read when present (Refund API data).
create or replace temp table fin_transfer_errors as
with listed as (
    select t.id as transfer_id, unnest(cast(t.errors as json[])) as e,
    from core.transfers as t
    where json_array_length(t.errors) > 0
)

select
    transfer_id,
    violet_int(e, '$.error_code') as error_code,
    violet_int(e, '$.refund_id') as refund_id,
    e ->> '$.error_message' as error_message,
    violet_ts(e ->> '$.date_created') as date_created,
from listed
