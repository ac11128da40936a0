-- grain: one row per sync id: its current state, the newest version in core.syncs_history.
select * exclude (valid_from, valid_to, is_current)
from core.syncs_history
where is_current
