-- grain: one row per merchant and currency; key: (merchant_id, currency).
-- inputs: finance.bag_settlements, core.transfers, core.merchants, core.payout_accounts; temp
--   tables fin_coverage, fin_batched_merchants.
-- outputs: finance.merchant_balances (replaced).
-- Bags and transfers; core.transfers' merchant_id is derived in core. What each merchant is
-- owed, what was sent and taken back, and whether its payout account can receive money.
--   expected_minor    = Σ bag_settlements.due_minor
--   outstanding_minor = expected_minor - (transferred_minor - reversed_minor)
-- unallocated_transferred_minor: money moved by transfers none of whose bags is known (it is
-- not in transferred_minor; see UNKNOWN_REFERENCE exceptions).
create or replace table finance.merchant_balances as
with bags as (
    select
        merchant_id,
        currency,
        count(*) as bags,
        count(*) filter (where not amounts_exact) as bags_with_unknown_amounts,
        cast(sum(due_minor) as bigint) as expected_minor,
        cast(sum(transferred_minor) as bigint) as transferred_minor,
        cast(sum(reversed_minor) as bigint) as reversed_minor,
        cast(sum(pending_transfer_minor) as bigint) as pending_transfer_minor,
        count(*) filter (where settlement_state not in ('SETTLED', 'REVERSED', 'NOT_DUE'))
            as unsettled_bags,
        arg_min(bag_id, coalesce(payment_created_at, date_created))
            filter (where settlement_state not in ('SETTLED', 'REVERSED', 'NOT_DUE'))
            as oldest_unsettled_bag_id,
        min(coalesce(payment_created_at, date_created))
            filter (where settlement_state not in ('SETTLED', 'REVERSED', 'NOT_DUE'))
            as oldest_unsettled_since
    from finance.bag_settlements
    where merchant_id is not null
    group by merchant_id, currency
),

unallocated as (
    select t.merchant_id, t.currency, cast(sum(t.amount_minor) as bigint)
        as unallocated_transferred_minor
    from core.transfers as t
    where finance_moved(t.status)
        and not exists (
            select 1 from fin_coverage as c where c.transfer_id = t.id and c.bag_known
        )
        and t.merchant_id is not null
    group by all
),

accounts as (
    -- The merchant's payout account: the active one if any, newest first.
    select
        merchant_id,
        arg_max(
            struct_pack(
                id := id,
                is_active := is_active,
                can_receive := coalesce(is_active, false) and coalesce(payouts_enabled, false)
                    and coalesce(len(past_due), 0) = 0
            ),
            (coalesce(is_active, false), date_last_modified)
        ) as account
    from core.payout_accounts
    where merchant_id is not null
    group by merchant_id
),

merchant_currencies as (
    select merchant_id, currency from bags
    union
    select merchant_id, currency from unallocated
)

select
    k.merchant_id,
    m.merchant_name,
    k.currency,
    k.merchant_id in (select merchant_id from fin_batched_merchants) as paid_in_batches,
    coalesce(b.bags, 0) as bags,
    coalesce(b.bags_with_unknown_amounts, 0) as bags_with_unknown_amounts,
    coalesce(b.expected_minor, 0) as expected_minor,
    coalesce(b.transferred_minor, 0) as transferred_minor,
    coalesce(b.reversed_minor, 0) as reversed_minor,
    coalesce(b.expected_minor, 0)
        - (coalesce(b.transferred_minor, 0) - coalesce(b.reversed_minor, 0))
        as outstanding_minor,
    coalesce(b.pending_transfer_minor, 0) as pending_transfer_minor,
    coalesce(u.unallocated_transferred_minor, 0) as unallocated_transferred_minor,
    coalesce(b.unsettled_bags, 0) as unsettled_bags,
    b.oldest_unsettled_bag_id,
    b.oldest_unsettled_since,
    a.account.id as payout_account_id,
    coalesce(a.account.is_active, false) as payout_account_active,
    coalesce(a.account.can_receive, false) as can_receive_payouts
from merchant_currencies as k
left join bags as b using (merchant_id, currency)
left join unallocated as u using (merchant_id, currency)
left join accounts as a on a.merchant_id = k.merchant_id
left join core.merchants as m on m.id = k.merchant_id
order by merchant_id, currency  -- stored in this order: exports need not sort
