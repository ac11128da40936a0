-- grain: one row per payment transaction id: its current state, the newest version in core.payment_transactions_history.
select * exclude (valid_from, valid_to, is_current)
from core.payment_transactions_history
where is_current
