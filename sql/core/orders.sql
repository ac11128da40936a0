-- grain: one row per order id: its current state, the newest version in core.orders_history.
select * exclude (valid_from, valid_to, is_current)
from core.orders_history
where is_current
