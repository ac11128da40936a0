-- grain: one row of counts over finance.merchant_balances; key: none.
-- inputs: finance.merchant_balances, finance.bag_settlements.
-- outputs: the number of balances breaking each rule (0 everywhere: the check passes): each
--   (merchant, currency) balance is the sum of its bags; outstanding = expected - (transferred -
--   reversed); one row per merchant and currency.
with
b as (
    select
        merchant_id,
        currency,
        sum(due_minor) as expected,
        sum(transferred_minor) as transferred,
        sum(reversed_minor) as reversed,
    from finance.bag_settlements
    where merchant_id is not null
    group by all
)

select
    count(*) filter (
        where m.expected_minor is distinct from coalesce(b.expected, 0)
        or m.transferred_minor is distinct from coalesce(b.transferred, 0)
        or m.reversed_minor is distinct from coalesce(b.reversed, 0)
    ) as balances_not_sum_of_bags,
    count(*) filter (
        where m.outstanding_minor <> m.expected_minor - (m.transferred_minor - m.reversed_minor)
    ) as outstanding_not_sum,
    (select count(*) from finance.merchant_balances) - (
        select count(*)
        from (select distinct merchant_id, currency from finance.merchant_balances) as k
    ) as duplicate_rows,
from finance.merchant_balances as m
left join b using (merchant_id, currency);
