-- grain: one row of counts over finance.order_payments; key: none.
-- inputs: finance.order_payments.
-- outputs: the number of orders breaking each rule of Violet's data (0 everywhere: the check
--   passes): an order with bags totals the sum of its bags' totals; its bags and payments are in
--   the order's currency.
select
    count(*) filter (
        where bag_count > 0 and order_total_minor <> bag_total_minor
    ) as orders_total_not_sum_of_bags,
    count(*) filter (where currency_mixed) as orders_mixing_currencies,
from finance.order_payments;
