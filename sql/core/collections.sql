-- grain: one row per collection id: its current state, the newest version in core.collections_history.
select * exclude (valid_from, valid_to, is_current)
from core.collections_history
where is_current
