-- grain: one row per bag line (sku line) id: its current state, the newest version in core.bag_skus_history.
select * exclude (valid_from, valid_to, is_current)
from core.bag_skus_history
where is_current
