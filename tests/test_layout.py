"""The layout's rules, read from the source (the AST of every module of pipelines/ and dev/):

- no import circle between our modules (an import inside a function counts too: a circle that
  works only because one side imports late is still a circle for the reader);
- a domain of pipelines (pipelines/<domain>/) uses another domain only through its public
  modules and names: never a module or name that starts with "_";
- the code location holds no demo: nothing in pipelines/ imports the simulator, and importing
  pipelines.definitions loads no simulator module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipelines", "dev")
DOMAINS = ("staging", "core", "finance", "ops", "publish")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every import in the module, any depth;
    relative imports resolved; `from package import module` names the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    out.append((sub, None, node.lineno))
                else:
                    out.append((base, alias.name, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target, _, _ in imports(name, path, known):
            if target in known and target != name:
                edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "pipelines" and parts[1] in DOMAINS else None


def test_no_import_circle() -> None:
    assert cycles(graph()) == [], "modules that import each other (directly or in a ring)"


def test_a_domain_uses_another_only_through_its_public_modules_and_names() -> None:
    known = modules()
    reaching = []
    for name, path in known.items():
        mine = domain_of(name)
        if mine is None:
            continue
        for target, imported, line in imports(name, path, known):
            theirs = domain_of(target)
            if theirs is None or theirs == mine:
                continue
            private_module = any(part.startswith("_") for part in target.split(".")[2:])
            private_name = imported is not None and imported.startswith("_")
            if private_module or private_name:
                what = target + (f".{imported}" if imported else "")
                reaching.append(f"{path.relative_to(ROOT)}:{line} uses {what}")
    assert reaching == [], "a domain reaches into another domain's private module or name"


def test_the_code_location_does_not_import_the_simulator() -> None:
    known = modules()
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in known.items()
        if name.split(".")[0] == "pipelines"
        for target, _, line in imports(name, path, known)
        if target.split(".")[0] == "simulator"
    ]
    assert found == [], "pipelines/ imports the simulator (the demo belongs in dev/)"


def test_loading_the_definitions_loads_no_simulator_module() -> None:
    probe = (
        "import sys, pipelines.definitions; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('simulator', 'dev')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_the_rules_see_a_circle_and_a_reach() -> None:
    # The checker itself: a ring of three is found, a chain is not.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert domain_of("pipelines.core.build") == "core"
    assert domain_of("pipelines._db") is None
