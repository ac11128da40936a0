"""What the Dagster catalog shows of each warehouse table: its column schema (from the tables'
COMMENTs), owners, kinds, tags and real dependencies (what its SQL reads, lineage.py).

Column schemas come from pipelines/columns.json, which `python -m pipelines dictionary` writes from
the COMMENTs of a freshly built warehouse (duckdb_columns()), beside docs/dictionary.md, and a test
keeps current. `columns()` is the one function reading them: point it elsewhere when the comments
move (into the SQL files, say) and every asset follows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines import lineage

COLUMNS_FILE = Path(__file__).resolve().parent / "columns.json"
OWNERS = {
    "staging": "team:data-engineering",
    "core": "team:data-engineering",
    "ops": "team:data-engineering",
    "publish": "team:data-engineering",
    "finance": "team:finance",
}
# Tag values: letters, digits, '_', '-', '.' only (Dagster's rule).
DOMAINS = {
    "staging": "webhooks",
    "core": "entities",
    "ops": "pipeline-health",
    "finance": "reconciliation",
    "publish": "analytics",
}


@cache
def _catalog() -> dict[str, list[dict[str, str]]]:
    if not COLUMNS_FILE.exists():
        return {}
    data: dict[str, list[dict[str, str]]] = json.loads(COLUMNS_FILE.read_text())
    return data


def columns(table: str) -> list[dict[str, str]]:
    """The columns of `schema.table`, each {"name", "type", "description"}, as the warehouse's
    COMMENTs describe them (empty for a table the catalog does not know)."""
    return _catalog().get(table, [])


def column_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=c["name"], type=c["type"], description=c["description"])
            for c in columns(table)
        ]
    )


def owners(layer: str) -> list[str]:
    return [OWNERS[layer]]


def kinds(table: str) -> set[str]:
    layer = table.split(".")[0]
    out = {"duckdb", "sql"}
    if table in ("staging.deliveries", "staging.quarantine", "ops.loaded_files"):
        out.add("parquet")  # loaded from the raw Parquet files
    if layer == "finance" and table != "finance.exception_actions":
        out.add("csv")  # exported for finance (reports/<day>/)
    return out


def tags(table: str) -> dict[str, str]:
    layer, name = table.split(".")
    out = {"layer": layer, "domain": DOMAINS[layer]}
    if layer == "core":
        out["grain"] = "version" if name.endswith("_history") else "current-state"
    if table in ("finance.exceptions", "finance.exception_log", "finance.exception_actions"):
        out["desk"] = "exceptions-queue"
    return out


def deps(key: dg.AssetKey, assets: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """The assets among `assets` whose tables `key`'s SQL reads."""
    known = {".".join(k.path): k for k in assets}
    return [known[t] for t in lineage.reads(".".join(key.path)) if t in known]


def metadata(table: str) -> dict[str, Any]:
    files = lineage.sql_files(table)
    out: dict[str, Any] = {
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": table,
    }
    if files:
        out["sql"] = dg.MetadataValue.text(", ".join(files))
    return out


def in_dependency_order(
    results: Iterable[dg.MaterializeResult[None]], keys: Iterable[dg.AssetKey]
) -> Iterator[dg.MaterializeResult[None]]:
    """A multi-asset's results, each after those of the assets (among `keys`) it depends on."""
    keys = list(keys)
    graph = {k: set(deps(k, keys)) for k in keys}
    order = {k: i for i, k in enumerate(TopologicalSorter(graph).static_order())}
    yield from sorted(results, key=lambda r: order[r.asset_key] if r.asset_key else -1)
