"""The code location's graph, snapshotted: every asset key with its group, kinds, step and
upstream keys; every check with its asset, step, blocking flag and dependencies; the job, sensor
and schedule names. A change to the graph (a renamed key, a lost dependency, a check moved) is
then a diff in review of tests/pipelines/asset_graph.json, not a surprise in production.

Regenerate after an intended change: `.venv/bin/python -m tests.pipelines.test_asset_graph`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("asset_graph.json")
REGENERATE = ".venv/bin/python -m tests.pipelines.test_asset_graph"


def graph() -> dict[str, Any]:
    """The graph of pipelines.definitions as plain, sorted data."""
    from pipelines.definitions import defs

    asset_graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(asset_graph.get_all_asset_keys()):
        node = asset_graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "step": node.assets_def.node_def.name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
        }
    check_steps = {
        key: checks_def.node_def.name
        for checks_def in defs.asset_checks or []
        for key in checks_def.check_keys
    }
    checks = {}
    for check_key in sorted(asset_graph.asset_check_keys):
        check = asset_graph.get(check_key)
        checks[f"{check_key.asset_key.to_user_string()}:{check_key.name}"] = {
            "step": check_steps[check_key],
            "blocking": check.blocking,
            "deps": sorted(k.to_user_string() for k in check.parent_entity_keys),
        }
    return {
        "assets": assets,
        "checks": checks,
        "jobs": sorted(job.name for job in defs.jobs or []),
        "sensors": sorted(sensor.name for sensor in defs.sensors or []),
        "schedules": sorted(schedule.name for schedule in defs.schedules or []),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_the_graph_is_the_snapshot() -> None:
    now = render(graph())
    assert SNAPSHOT.exists(), f"no {SNAPSHOT.name}: write it with `{REGENERATE}`"
    assert now == SNAPSHOT.read_text(), (
        f"the asset graph differs from {SNAPSHOT.name} (keys, checks or dependencies changed). "
        f"If the change is intended, regenerate it with `{REGENERATE}` and commit the diff."
    )


if __name__ == "__main__":
    SNAPSHOT.write_text(render(graph()))
    print(f"wrote {SNAPSHOT}")
