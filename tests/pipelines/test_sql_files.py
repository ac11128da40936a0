"""The SQL files read on their own: valid as they stand (no templating) and each build file
opens with what it builds (grain, key, inputs, outputs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines._sql import SQL_DIR

BUILD_FILES = sorted(path for path in SQL_DIR.rglob("*.sql") if not path.name.endswith(".ddl.sql"))
NAMES = [str(path.relative_to(SQL_DIR)) for path in BUILD_FILES]


def _code(text: str) -> str:
    """The SQL without comments and string literals."""
    text = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return re.sub(r"'(?:[^']|'')*'", "''", text)


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:])
    return " ".join(lines).lower()


@pytest.mark.parametrize("path", BUILD_FILES, ids=NAMES)
def test_no_placeholders(path: Path) -> None:
    """No {name} for Python to fill in: the file is the SQL DuckDB runs."""
    assert not re.findall(r"\{\s*[a-z_]+\s*\}", _code(path.read_text()))


@pytest.mark.parametrize("path", BUILD_FILES, ids=NAMES)
def test_header(path: Path) -> None:
    header = _header(path.read_text())
    missing = [word for word in ("grain:", "key:", "inputs:", "outputs:") if word not in header]
    assert not missing, f"{path.name} header lacks {missing}"
