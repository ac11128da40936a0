-- grain: one row of counts over the finance schema's columns; key: none.
-- inputs: duckdb_columns() (the catalog of the warehouse).
-- outputs: money_columns_not_integer, the number of *_minor columns of the finance schema whose
--   type is not an integer (0: the check passes).
select count(*) as money_columns_not_integer,
from duckdb_columns()
where
    schema_name = 'finance'
    and column_name like '%\_minor' escape '\'
    and data_type not in ('BIGINT', 'INTEGER');
