"""The SQL files read on their own: valid as they stand (no templating) and each build file
opens with what it builds (grain, key, inputs, outputs)."""

from __future__ import annotations

import ast
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


# The Python that runs the models: a statement it executes is a constant (a query of a table's
# state, a fixed-name temp table or view) or a file run by pipelines._sql; never SQL text built
# from Python values. Values go in as parameters (`?`) or DuckDB variables. The exceptions, each
# with why: (module, function) -> what the f-string may only put in.
PIPELINES = SQL_DIR.parent / "pipelines"
BUILD_MODULES = [*sorted(PIPELINES.glob("*/build.py")), PIPELINES / "_sql.py"]
ALLOWED = {
    # a DuckDB variable's name (a literal at every call); its value is a parameter
    ("core/build.py", "_set"),
    # the schema names of pipelines._sql.SCHEMAS
    ("_sql.py", "prepare"),
    # not a model: how tests and the demo compare a queue (finance.exceptions or a truth file)
    ("finance/build.py", "queue"),
}


def _formatted_sql(path: Path) -> list[str]:
    """`file:function:line` of every f-string, .format() or concatenation passed to an
    execute() or scalar() call in `path`, outside ALLOWED."""
    tree = ast.parse(path.read_text())
    found = []
    where = f"{path.parent.name}/{path.name}" if path.parent.name != "pipelines" else path.name
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or (where, function.name) in ALLOWED:
            continue
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and call.args):
                continue
            name = getattr(call.func, "attr", getattr(call.func, "id", ""))
            if name not in ("execute", "scalar"):
                continue
            # scalar(con, query, ...); con.execute(query, ...)
            text = call.args[1] if name == "scalar" and len(call.args) > 1 else call.args[0]
            built = isinstance(text, ast.JoinedStr | ast.BinOp) or (
                isinstance(text, ast.Call) and getattr(text.func, "attr", "") == "format"
            )
            if built:
                found.append(f"{where}:{function.name}:{call.lineno}")
    return found


@pytest.mark.parametrize("path", BUILD_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_build_code_does_not_template_sql(path: Path) -> None:
    assert _formatted_sql(path) == []
