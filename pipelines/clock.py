"""The clocks the pipeline trusts, and how far ahead a sender's clock may be.

Finance looks from the wall clock of the run (pipelines/finance/build.py resolve_as_of), never
from a timestamp in a body. A body dated more than the future tolerance after its receipt is
quarantined at the door (reason `future_timestamp`, sql/macros.sql violet_latest): it never
becomes current state, and the staging/quarantine:quarantine_rate check reports it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import timedelta

FUTURE_TOLERANCE_ENV = "VIOLET_FUTURE_TOLERANCE_HOURS"
DEFAULT_FUTURE_TOLERANCE_HOURS = 24.0


def future_tolerance_hours(environ: Mapping[str, str] | None = None) -> float:
    """VIOLET_FUTURE_TOLERANCE_HOURS (a non-negative number of hours), else 24."""
    env = os.environ if environ is None else environ
    value = env.get(FUTURE_TOLERANCE_ENV, "").strip()
    if not value:
        return DEFAULT_FUTURE_TOLERANCE_HOURS
    try:
        hours = float(value)
    except ValueError:
        raise ValueError(f"{FUTURE_TOLERANCE_ENV}={value!r} is not a number of hours") from None
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"{FUTURE_TOLERANCE_ENV}={value!r} must be a non-negative number")
    return hours


def tolerance(hours: float | None) -> timedelta:
    """The tolerance as a duration: `hours`, or the environment's when None."""
    return timedelta(hours=future_tolerance_hours() if hours is None else hours)
