-- temp: one row per bag refund (bags[].refunds[] of the newest bag version).
-- amount_minor is shopper money given back; reversal_minor is merchant money to take back from
-- the transfer (merchant_transfer_reversal_amount).
create or replace temp table fin_refunds as
with listed as (
    select b.id as bag_id, b.order_id, b.merchant_id, b.currency as bag_currency,
        b.date_last_modified as bag_modified,
        unnest(cast(b.payload -> '$.refunds' as json[])) as r
    from core.bags as b
    where json_array_length(b.payload, '$.refunds') > 0
)
select
    coalesce(violet_int(r, '$.id'), -1) as refund_id,
    bag_id,
    order_id,
    merchant_id,
    coalesce(r ->> '$.refund_currency', r ->> '$.currency', bag_currency) as currency,
    coalesce(violet_money(r, '$.amount'), 0) as amount_minor,
    coalesce(violet_money(r, '$.merchant_transfer_reversal_amount'), 0) as reversal_minor,
    r ->> '$.reason' as reason,
    r ->> '$.status' as status,
    -- Undated refunds are dated by the bag version that lists them.
    coalesce(
        violet_ts(r ->> '$.date_created'), violet_ts(r ->> '$.date_last_modified'), bag_modified
    ) as date_created
from listed
