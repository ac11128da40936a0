-- grain: one row per payout account id: its current state, the newest version in core.payout_accounts_history.
select * exclude (valid_from, valid_to, is_current)
from core.payout_accounts_history
where is_current
