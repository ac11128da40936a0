# %% [markdown]
# # Finance, every morning
#
# Reads the published snapshot (`$VIOLET_DATA_DIR/analytics.duckdb`, default `data/`) read-only,
# so it never gets in the way of a pipeline run. Run it as a script
# (`.venv/bin/python notebooks/finance_morning.py`) or cell by cell in any editor that knows
# `# %%` cells (VS Code, PyCharm, Jupytext).

# %%
import os
from pathlib import Path

import duckdb

snapshot = Path(os.environ.get("VIOLET_DATA_DIR") or "data") / "analytics.duckdb"
con = duckdb.connect(str(snapshot), read_only=True)
((as_of,),) = con.execute("select max(as_of) from finance.exceptions").fetchall()
print(f"snapshot {snapshot}, finance as of {as_of}")

# %% [markdown]
# ## The open queue by kind: how many, how much money, how old

# %%
con.sql(
    """
    select kind, currency, count(*) as open, sum(amount_minor) as at_stake_minor,
        max(age_days) as oldest_days
    from finance.exceptions
    group by all
    order by kind, currency
    """
).show(max_rows=100)

# %% [markdown]
# ## The ten largest open exceptions, in words

# %%
con.sql(
    """
    select exception_id, kind, severity, currency, amount_minor, age_days, detail
    from finance.exceptions
    order by amount_minor desc, exception_id
    limit 10
    """
).show(max_width=200)

# %% [markdown]
# ## Did we capture what shoppers owed?

# %%
con.sql(
    """
    select currency, capture_state, count(*) as orders, sum(order_total_minor) as owed_minor,
        sum(captured_minor) as captured_minor, sum(refunded_minor) as refunded_minor
    from finance.order_payments
    group by all
    order by currency, capture_state
    """
).show(max_rows=100)

# %% [markdown]
# ## Did every merchant get what they are owed? Largest outstanding balances first

# %%
con.sql(
    """
    select merchant_id, merchant_name, currency, expected_minor, transferred_minor,
        reversed_minor, outstanding_minor, unsettled_bags, oldest_unsettled_since,
        can_receive_payouts
    from finance.merchant_balances
    where outstanding_minor <> 0 or not can_receive_payouts
    order by abs(outstanding_minor) desc
    limit 15
    """
).show(max_width=200)

# %% [markdown]
# ## Resolved since the queue began (what the exception log remembers)

# %%
con.sql(
    """
    select kind, count(*) as resolved, min(first_seen_at) as first_seen,
        max(resolved_at) as last_resolved
    from finance.exception_log
    where resolved_at is not null
    group by kind
    order by kind
    """
).show()
