-- grain: one row per merchant id: its current state, the newest version in core.merchants_history.
select * exclude (valid_from, valid_to, is_current)
from core.merchants_history
where is_current
