-- grain: one row of counts over finance.exceptions; key: none.
-- inputs: finance.exceptions; parameter 1, the list of known exception kinds
--   (pipelines/finance/build.py KINDS).
-- outputs: the number of open exceptions breaking each rule (0 everywhere: the check passes):
--   unique exception ids, a known kind, a non-negative amount, a currency, a detail and a
--   first_seen_at.
select
    count(*) - count(distinct exception_id) as duplicate_ids,
    count(*) filter (where not list_contains($1, kind)) as unknown_kinds,
    count(*) filter (where amount_minor is null or amount_minor < 0) as bad_amounts,
    count(*) filter (where currency is null) as without_currency,
    count(*) filter (where detail is null or detail = '') as without_detail,
    count(*) filter (where first_seen_at is null) as without_first_seen,
from finance.exceptions;
