"""The Dagster catalog as the UI shows it: `python -m pipelines ui` (what `make ui PORT=...`
runs: `dagster dev`, webserver + daemon) on a free 127.0.0.1 port, asked through its GraphQL
API for every asset (owners, kinds, tags, column schema, dependencies), check, sensor and
schedule; stopped (its whole process group) when done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipelines.definitions import defs
from tests.support import free_port

from .conftest import ROOT

QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    owners { ... on TeamAssetOwner { team } }
    kinds
    tags { key value }
    dependencyKeys { path }
    metadataEntries {
      label
      ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
    }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name sensors { name } schedules { name } } }
  }
}
"""
STARTUP_S = 180


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    port = free_port()
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir)}
    env.pop("DAGSTER_HOME", None)
    log = (data_dir.parent / "ui.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "ui", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert proc.poll() is None, (data_dir.parent / "ui.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Dagster UI did not come up"
            time.sleep(0.5)
        yield url
    finally:
        # As a person stops `make ui`: `python -m pipelines ui` passes it on to `dagster dev`,
        # which stops its webserver, daemon and code servers.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        assert group_ended(proc.pid, timeout=30), "the UI left processes running"


def group_ended(pgid: int, timeout: float) -> bool:
    """Wait for every process of the group (dagster dev's webserver, daemon, code servers) to
    end; past `timeout`, kill what is left and say so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)
    return False


def ask(url: str) -> dict[str, Any]:
    answer = httpx.post(f"{url}/graphql", json={"query": QUERY}, timeout=60)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_the_ui_shows_every_asset_with_owners_kinds_tags_and_columns(ui: str) -> None:
    graph = defs.get_repository_def().asset_graph
    expected = {"/".join(k.path) for k in graph.get_all_asset_keys()}
    nodes = {"/".join(n["assetKey"]["path"]): n for n in ask(ui)["assetNodes"]}
    assert set(nodes) == expected
    assert len(nodes) >= 34  # 33 tables and the snapshot
    for key, node in nodes.items():
        layer = key.split("/")[0]
        team = "finance" if layer == "finance" else "data-engineering"
        assert node["owners"] == [{"team": team}], key
        assert "duckdb" in node["kinds"], key
        tags = {t["key"]: t["value"] for t in node["tags"]}
        assert tags["layer"] == layer, key
        if layer == "publish":
            continue  # a file of every table, no table of its own
        schemas = [e for e in node["metadataEntries"] if e["label"] == "dagster/column_schema"]
        assert len(schemas) == 1, key
        columns = schemas[0]["schema"]["columns"]
        assert len(columns) >= 3, key
        assert all(c["type"] and c["description"] for c in columns), key


def test_the_ui_shows_each_assets_real_dependencies(ui: str) -> None:
    nodes = {"/".join(n["assetKey"]["path"]): n for n in ask(ui)["assetNodes"]}

    def deps(key: str) -> set[str]:
        return {"/".join(d["path"]) for d in nodes[key]["dependencyKeys"]}

    # Finance reads the core tables its SQL names, not all twenty.
    balances = deps("finance/merchant_balances")
    assert {"core/merchants", "core/bags", "core/transfers", "finance/bag_settlements"} <= balances
    assert not balances & {"core/offers", "core/collections", "core/syncs", "core/orders"}
    assert deps("finance/exceptions") == {"finance/exception_log"}
    for key in nodes:
        if key.startswith("finance/"):
            assert not deps(key) & {"core/offers", "core/collections", "core/syncs"}, key
    assert deps("ops/event_counts") == {"staging/deliveries", "staging/events"}
    assert "finance/exceptions" in deps("publish/analytics_snapshot")


def test_the_ui_shows_every_check_sensor_and_schedule(ui: str) -> None:
    data = ask(ui)
    repo = defs.get_repository_def()
    checks = {
        f"{'/'.join(n['assetKey']['path'])}:{c['name']}"
        for n in data["assetNodes"]
        for c in (n["assetChecksOrError"] or {}).get("checks", [])
    }
    expected = {
        f"{k.asset_key.to_user_string()}:{k.name}" for k in repo.asset_graph.asset_check_keys
    }
    assert checks == expected
    assert len(checks) >= 25
    (location,) = data["repositoriesOrError"]["nodes"]
    assert {s["name"] for s in location["sensors"]} == {s.name for s in repo.sensor_defs}
    assert {s["name"] for s in location["schedules"]} == {"hourly_warehouse"}
