-- temp: one row per (transfer, bag it covers), from transfers.related_bags, with the bag's
-- expected merchant amount when the bag is known, and the transfer's amount allocated back to
-- its bags: every known bag gets its expected amount and the last known bag (highest id) also
-- takes the difference, so the allocations of a transfer always sum to its amount.
create or replace temp table fin_coverage as
with pairs as (
    select distinct t.id as transfer_id, try_cast(unnest(t.related_bags) as bigint) as bag_id
    from core.transfers as t
),
joined as (
    select
        p.transfer_id,
        p.bag_id,
        t.status as transfer_status,
        t.amount_minor as transfer_minor,
        t.currency as transfer_currency,
        t.merchant_id as transfer_merchant_id,
        b.id is not null as bag_known,
        b.order_id,
        b.currency as bag_currency,
        finance_merchant_amount(
            b.sub_total_minor, b.tax_total_minor, b.shipping_total_minor,
            b.discount_total_minor, b.commission_rate
        ) as expected_minor
    from pairs as p
    join core.transfers as t on t.id = p.transfer_id
    left join core.bags as b on b.id = p.bag_id
    where p.bag_id is not null
)
select
    *,
    cast(sum(expected_minor) over (partition by transfer_id) as bigint)
        as transfer_expected_minor,
    count(*) over (partition by transfer_id) as transfer_bags,
    bool_and(bag_known) over (partition by transfer_id) as all_bags_known,
    bool_or(bag_currency is distinct from transfer_currency) filter (where bag_known)
        over (partition by transfer_id) as currency_mixed,
    case when bag_known then expected_minor + cast(case
        when bag_id = max(bag_id) filter (where bag_known) over (partition by transfer_id)
        then transfer_minor - sum(expected_minor) over (partition by transfer_id)
        else 0 end as bigint)
    end as allocated_minor
from joined
