-- grain: one row of counts over finance.bag_settlements; key: none.
-- inputs: finance.bag_settlements.
-- outputs: the number of bags breaking each rule (0 everywhere: the check passes):
--   expected = sub_total + tax + shipping - discount - commission; outstanding = due -
--   (transferred - reversed); 0 <= commission <= sub_total when the rate is 0-100 %; a SETTLED
--   bag has nothing outstanding.
select
    count(*) filter (
        where expected_minor <> sub_total_minor + tax_total_minor
        + shipping_total_minor - discount_total_minor - commission_minor
    ) as expected_not_sum_of_parts,
    count(*) filter (
        where outstanding_minor <> due_minor - (transferred_minor - reversed_minor)
    ) as outstanding_not_sum,
    count(*) filter (
        where commission_rate between 0 and 100
        and (commission_minor < 0 or commission_minor > sub_total_minor)
    ) as commission_out_of_range,
    count(*) filter (
        where settlement_state = 'SETTLED' and outstanding_minor <> 0
    ) as settled_with_outstanding,
from finance.bag_settlements;
