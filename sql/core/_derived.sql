-- grain: one row per current transfer and per current bag; key: id.
-- inputs: core.transfers, core.transfers_history, core.payout_accounts, core.bags,
--   core.merchants, staging.events.
-- outputs: the derived columns of core.transfers and core.bags (updated in place; defined in
--   transfers.ddl.sql and bags.ddl.sql); temp table derived_transfers (scratch).
-- What Violet's webhook bodies leave out, derived after every core merge.
-- Columns that exist only on the current tables, filled here, never in history (history holds
-- what the bodies said):
--   core.transfers.merchant_id     the body's merchant_id when present (optional, not in the
--                                  webhook samples), else its payout account's merchant, else
--                                  the merchant of the bags it covers (when they agree);
--   core.transfers.merchant_id_source  body, payout_account or bags;
--   core.transfers.partially_sent  its current version was announced by TRANSFER_PARTIALLY_SENT
--                                  (a topic, not a status: the body's status does not say it);
--   core.transfers.reversal_failed_at  the newest version announced by TRANSFER_REVERSAL_FAILED;
--   core.bags.merchant_name        from core.merchants (not a documented bag field).
-- Rows change only where the derived value differs, so a run writes what a new payout account,
-- merchant or bag changed, not every row.

create or replace temp table derived_transfers as
with
bag_merchants as (
    select t.id, min(b.merchant_id) as merchant_id, count(distinct b.merchant_id) as merchants,
    from core.transfers as t, unnest(t.related_bags) as r (bag_id)
    inner join core.bags as b on b.id = try_cast(r.bag_id as bigint)
    group by t.id
),

announced as (
    select
        entity_id as id,
        max(date_last_modified) filter (where topic = 'TRANSFER_PARTIALLY_SENT')
            as partially_sent_at,
        max(date_last_modified) filter (where topic = 'TRANSFER_REVERSAL_FAILED')
            as reversal_failed_at,
    from staging.events
    where entity = 'transfer' and quarantine_reason is null
        and topic in ('TRANSFER_PARTIALLY_SENT', 'TRANSFER_REVERSAL_FAILED')
    group by entity_id
),

final as (
    select
        t.id,
        coalesce(h.merchant_id, a.merchant_id, case when m.merchants = 1 then m.merchant_id end)
            as merchant_id,
        case
            when h.merchant_id is not null then 'body'
            when a.merchant_id is not null then 'payout_account'
            when m.merchants = 1 then 'bags'
        end as merchant_id_source,
        coalesce(n.partially_sent_at = t.date_last_modified, false) as partially_sent,
        n.reversal_failed_at,
    from core.transfers as t
    left join core.transfers_history as h on h.id = t.id and h.is_current
    left join core.payout_accounts as a on a.id = t.payout_account_id
    left join bag_merchants as m on m.id = t.id
    left join announced as n on n.id = t.id
)

select * from final;

update core.transfers as t
set
    merchant_id = d.merchant_id,
    merchant_id_source = d.merchant_id_source,
    partially_sent = d.partially_sent,
    reversal_failed_at = d.reversal_failed_at
from derived_transfers as d
where d.id = t.id
    and (t.merchant_id is distinct from d.merchant_id
        or t.merchant_id_source is distinct from d.merchant_id_source
        or t.partially_sent is distinct from d.partially_sent
        or t.reversal_failed_at is distinct from d.reversal_failed_at);

update core.bags as b
set merchant_name = m.merchant_name
from core.merchants as m
where m.id = b.merchant_id and b.merchant_name is distinct from m.merchant_name;
