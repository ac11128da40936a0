"""Staging's asset checks: event keys (blocking); quarantine rate and reasons, undocumented
topics and raw freshness (warnings: they describe the data, they do not stop it)."""

import time

import dagster as dg
import duckdb

from pipelines._checks import RunEvaluate, any_run, md_table, multi_check
from pipelines._db import scalar
from pipelines.resources import Warehouse
from pipelines.staging.assets import KEYS as STAGING
from pipelines.staging.build import RAW_GLOB

QUARANTINE_RATE_WARN = 0.01
RAW_STALE_SECONDS = 6 * 3600


EVENTS_UNIQUE = dg.AssetCheckSpec(
    "event_key_unique",
    asset=STAGING["events"],
    blocking=True,
    description="staging.events: one row per logical event key.",
)


def _events_unique(con: duckdb.DuckDBPyConnection, _: Warehouse) -> dg.AssetCheckResult:
    dupes = scalar(con, "select count(*) - count(distinct event_key) from staging.events")
    nulls = scalar(con, "select count(*) from staging.events where event_key is null")
    return dg.AssetCheckResult(
        asset_key=EVENTS_UNIQUE.asset_key,
        check_name=EVENTS_UNIQUE.name,
        passed=dupes == 0 and nulls == 0,
        metadata={"duplicate_keys": dupes, "null_keys": nulls},
    )


QUARANTINE_RATE = dg.AssetCheckSpec(
    "quarantine_rate",
    asset=STAGING["quarantine"],
    description=(
        f"Warn when more than {QUARANTINE_RATE_WARN:.0%} of deliveries are quarantined, or when"
        " this run quarantined a delivery dated past the future tolerance (future_dated_in_run);"
        " reports (reason, topic) pairs quarantined for the first time in this run; names every"
        " reason and topic behind the figure."
    ),
)


def _quarantine_rate(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, run_id: str
) -> dg.AssetCheckResult:
    total = scalar(con, "select count(*) from staging.deliveries")
    bad = scalar(con, "select count(*) from staging.quarantine")
    rate = bad / total if total else 0.0
    pairs = con.execute(
        # new in this run: first quarantined by one of the run's loads (ops.loaded_files)
        "select reason, coalesce(topic, '(none)') as topic, count(*) as deliveries, "
        "min(batch_id) in (select batch_id from ops.loaded_files where run_id = $run_id) "
        "from staging.quarantine group by all order by deliveries desc, reason, topic",
        {"run_id": run_id},
    ).fetchall()
    new = [{"reason": r, "topic": t} for r, t, _, is_new in pairs if is_new]
    # A body dated past the future tolerance: reported (the check warns), never a clock.
    future = future_dated_in_run(con, run_id)
    return dg.AssetCheckResult(
        asset_key=QUARANTINE_RATE.asset_key,
        check_name=QUARANTINE_RATE.name,
        # New (reason, topic) pairs are reported (new_in_run), not failed: a first run has only
        # new ones.
        passed=rate <= QUARANTINE_RATE_WARN and not future,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantined": bad,
            "deliveries": total,
            "rate": round(rate, 5),
            "by_reason_and_topic": md_table(
                ("reason", "topic", "deliveries", "new in this run"),
                [(r, t, n, "yes" if is_new else "") for r, t, n, is_new in pairs],
            ),
            "new_in_run": dg.MetadataValue.json(new),
            "future_dated_in_run": future,
            "future_tolerance_hours": warehouse.future_tolerance.total_seconds() / 3600,
        },
    )


def future_dated_in_run(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Deliveries this run quarantined as dated past the future tolerance."""
    return scalar(
        con,
        "select count(*) from staging.quarantine where reason = 'future_timestamp' and batch_id "
        "in (select batch_id from ops.loaded_files where run_id = ?)",
        [run_id],
    )


UNDOCUMENTED_TOPICS = dg.AssetCheckSpec(
    "undocumented_topics",
    asset=STAGING["deliveries"],
    description=(
        "Warn while any topic name received is not one Violet documents (staging.topics):"
        " new names of a known family (modeled as its entity), names only seen in Violet's"
        " code, unknown names (quarantined). Names each, and those first received in this run."
    ),
)


TOPIC_COLUMNS = (
    "topic",
    "entity",
    "first seen (UTC)",
    "last seen (UTC)",
    "events",
    "deliveries",
    "quarantined",
    "new in this run",
)


def _undocumented_topics(
    con: duckdb.DuckDBPyConnection, _: Warehouse, run_id: str
) -> dg.AssetCheckResult:
    # From staging.deliveries, not ops.topics: this check may run before ops is rebuilt.
    rows = con.execute(
        "select topic, coalesce(any_value(entity), '(unknown)'), "
        "strftime(min(received_at) at time zone 'UTC', '%Y-%m-%d %H:%M:%S'), "
        "strftime(max(received_at) at time zone 'UTC', '%Y-%m-%d %H:%M:%S'), "
        "count(distinct event_key), count(*), count_if(quarantine_reason is not null), "
        "min(batch_id) in (select batch_id from ops.loaded_files where run_id = $run_id) "
        "from staging.deliveries where not topic_documented and topic is not null "
        "group by topic order by topic",
        {"run_id": run_id},
    ).fetchall()
    return dg.AssetCheckResult(
        asset_key=UNDOCUMENTED_TOPICS.asset_key,
        check_name=UNDOCUMENTED_TOPICS.name,
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "topics": dg.MetadataValue.json([row[0] for row in rows]),
            "new_in_run": dg.MetadataValue.json([row[0] for row in rows if row[7]]),
            "by_topic": md_table(
                TOPIC_COLUMNS, [(*row[:7], "yes" if row[7] else "") for row in rows]
            ),
        },
    )


RAW_FRESHNESS = dg.AssetCheckSpec(
    "raw_freshness",
    asset=STAGING["deliveries"],
    description=f"Warn when no raw file arrived in the last {RAW_STALE_SECONDS // 3600} hours.",
)


def _raw_freshness(_: duckdb.DuckDBPyConnection, warehouse: Warehouse) -> dg.AssetCheckResult:
    newest = max((p.stat().st_mtime for p in warehouse.raw_dir.glob(RAW_GLOB)), default=None)
    age = None if newest is None else time.time() - newest
    return dg.AssetCheckResult(
        asset_key=RAW_FRESHNESS.asset_key,
        check_name=RAW_FRESHNESS.name,
        passed=age is not None and age <= RAW_STALE_SECONDS,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"newest_raw_file_age_seconds": -1 if age is None else round(age)},
    )


STAGING_CHECKS: list[tuple[dg.AssetCheckSpec, RunEvaluate]] = [
    (EVENTS_UNIQUE, any_run(_events_unique)),
    (QUARANTINE_RATE, _quarantine_rate),
    (UNDOCUMENTED_TOPICS, _undocumented_topics),
    (RAW_FRESHNESS, any_run(_raw_freshness)),
]
staging_health = multi_check(
    "staging_health",
    "staging.events keys (blocking); quarantine rate and reasons, undocumented topics and raw"
    " freshness (warn).",
    STAGING_CHECKS,
)
