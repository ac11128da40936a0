-- grain: one row of counts over core.transfers; key: none.
-- inputs: core.transfers, core.bags.
-- outputs: transfers_mixing_currencies, the number of transfers covering a bag in another
--   currency than the transfer's (0: the check passes).
with
covered as (
    select
        id,
        currency,
        try_cast(unnest(related_bags) as bigint) as bag_id,
    from core.transfers
)

select count(distinct c.id) as transfers_mixing_currencies,
from covered as c
inner join core.bags as b on c.bag_id = b.id
where b.currency is distinct from c.currency;
