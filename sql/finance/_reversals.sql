-- temp: one row per bag refund that takes merchant money back (reversal_minor > 0), and what
-- became of its transfer reversal.
-- A refund is matched to the newest transfer that moved money for its bag. Transfers list their
-- reversals by id only (transfer_reversals[]), so reversals are allocated to that transfer's
-- refunds oldest first (date_created, then refund id); a refund whose reversal failed (an open
-- error naming it: code 4470 in practice) takes no reversal. reversal_state:
--   NO_TRANSFER  nothing was transferred for the bag, so nothing is to be reversed
--   REVERSED     a reversal is listed for it
--   FAILED       an open reversal error names it
--   DUE          not reversed yet, within the reversal grace period
--   MISSING      not reversed and the grace period has passed
create or replace temp table fin_reversals as
with refunds as (
    select
        r.*,
        (select max(c.transfer_id) from fin_coverage as c
            where c.bag_id = r.bag_id and finance_moved(c.transfer_status)) as transfer_id
    from fin_refunds as r
    where r.reversal_minor > 0
),
failed as (
    select transfer_id, refund_id, max(date_created) as failed_at
    from fin_transfer_errors
    where not resolved and refund_id is not null
    group by all
),
ranked as (
    select
        r.*,
        f.refund_id is not null as reversal_failed,
        f.failed_at,
        row_number() over (
            partition by r.transfer_id, f.refund_id is not null
            order by r.date_created nulls last, r.refund_id
        ) as position,
        coalesce(len(cast(t.payload -> '$.transfer_reversals' as varchar[])), 0) as reversals
    from refunds as r
    left join failed as f on f.transfer_id = r.transfer_id and f.refund_id = r.refund_id
    left join core.transfers as t on t.id = r.transfer_id
)
select
    refund_id, bag_id, order_id, merchant_id, currency, amount_minor, reversal_minor, reason,
    date_created, transfer_id, failed_at,
    case
        when transfer_id is null then 'NO_TRANSFER'
        when reversal_failed then 'FAILED'
        when position <= reversals then 'REVERSED'
        when date_created < getvariable('as_of') - getvariable('reversal_grace') then 'MISSING'
        else 'DUE'
    end as reversal_state
from ranked
