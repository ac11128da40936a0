-- grain: one row per transfer id: its current state, the newest version in core.transfers_history.
select * exclude (valid_from, valid_to, is_current)
from core.transfers_history
where is_current
