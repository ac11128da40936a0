-- grain: one row per offer id: its current state, the newest version in core.offers_history.
select * exclude (valid_from, valid_to, is_current)
from core.offers_history
where is_current
