"""What each warehouse table's SQL really reads, for the assets' dependencies (the lineage graph).

A table's SQL is its file sql/<schema>/<table>.sql and any file that creates it (`create [or
replace] table schema.name` / `create table if not exists`). Its reads are every `schema.table`
its statements name (comments ignored), plus, for each temp table it uses, what the file
creating that temp table reads (sql/<layer>/_*.sql), transitively. A table it writes itself
(incremental models read their own rows), or that the same file creates, is not a dependency.
"""

from __future__ import annotations

import re
from functools import cache

from pipelines._sql import SCHEMAS, SQL_DIR

TABLE_REF = re.compile(rf"\b((?:{'|'.join(SCHEMAS)})\.[a-z_][a-z0-9_]*)\b")
CREATES = re.compile(
    rf"create\s+(?:or\s+replace\s+)?table\s+(?:if\s+not\s+exists\s+)?"
    rf"((?:{'|'.join(SCHEMAS)})\.[a-z_][a-z0-9_]*)",
    re.IGNORECASE,
)
CREATES_TEMP = re.compile(
    r"create\s+(?:or\s+replace\s+)?temp(?:orary)?\s+table\s+([a-z_][a-z0-9_]*)", re.IGNORECASE
)


def _code(text: str) -> str:
    """SQL without its comments (`-- ...` to the end of the line)."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


@cache
def _files() -> dict[str, str]:
    """Every SQL file (layer/name) -> its code."""
    return {
        f"{path.parent.name}/{path.stem}": _code(path.read_text())
        for path in sorted(SQL_DIR.glob("*/*.sql"))
    }


@cache
def _creators() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(table -> files creating it, temp table -> files creating it). A temp table may be made
    by several files (each core entity's <entity>.sql makes its own c_payload)."""
    tables: dict[str, set[str]] = {}
    temps: dict[str, set[str]] = {}
    for name, code in _files().items():
        layer, stem = name.split("/")
        if not stem.startswith("_") and layer in SCHEMAS:  # sql/core/orders.sql: core.orders
            tables.setdefault(f"{layer}.{stem}", set()).add(name)
        for table in CREATES.findall(code):
            tables.setdefault(table.lower(), set()).add(name)
        for temp in CREATES_TEMP.findall(code):
            temps.setdefault(temp.lower(), set()).add(name)
    return tables, temps


def _file_reads(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    code = _files()[name]
    _, temps = _creators()
    out = {ref.lower() for ref in TABLE_REF.findall(code)}
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", code.lower()))
    for temp, creators in temps.items():
        if temp in words and name not in creators:
            for creator in creators - seen:
                out |= _file_reads(creator, seen | {name})
    return out


def sql_files(table: str) -> list[str]:
    """The files (sql/<layer>/<name>.sql) whose statements create `schema.table`."""
    return sorted(f"sql/{name}.sql" for name in _creators()[0].get(table, set()))


def reads(table: str) -> list[str]:
    """Every warehouse table that `schema.table`'s SQL reads (itself excluded), sorted."""
    tables = _creators()[0]
    files = tables.get(table, set())
    found: set[str] = set()
    for name in files:
        found |= _file_reads(name)
    # Tables the same file creates are built with it (finance.exception_actions beside
    # finance.exception_log), not before it.
    built_together = {t for t, creators in tables.items() if creators & files}
    return sorted(t for t in found if t in tables and t not in built_together)
