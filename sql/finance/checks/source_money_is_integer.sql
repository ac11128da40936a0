-- grain: one row of counts over core's money columns; key: none.
-- inputs: core.orders, core.bags, core.payment_transactions, core.transfers (typed columns and
--   payloads).
-- outputs: the number of rows per table whose payload holds a money field that is not an integer
--   (0 everywhere: the check passes). Such a field is NULL in core, never rounded: the payload
--   shows it was there.
select
    (
        select count(*) from core.orders
        where total_minor is null and json_type(payload, '$.total') not in ('NULL')
    ) as orders_total_not_integer,
    (
        select count(*) from core.bags
        where
            (sub_total_minor is null and json_type(payload, '$.sub_total') not in ('NULL'))
            or (total_minor is null and json_type(payload, '$.total') not in ('NULL'))
    ) as bags_amount_not_integer,
    (
        select count(*) from core.payment_transactions
        where amount_minor is null and json_type(payload, '$.amount') not in ('NULL')
    ) as payments_amount_not_integer,
    (
        select count(*) from core.transfers
        where amount_minor is null and json_type(payload, '$.amount') not in ('NULL')
    ) as transfers_amount_not_integer;
