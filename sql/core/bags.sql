-- grain: one row per bag id: its current state, the newest version in core.bags_history.
select * exclude (valid_from, valid_to, is_current)
from core.bags_history
where is_current
