"""The raw layout is spelled in one module: the service seals where the pipeline reads, and no
other module of the tree spells a piece of it."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest import sealer, wal
from ingest.settings import Settings
from pipelines import sensors
from pipelines.resources import Warehouse
from pipelines.staging import build as models
from simulator.write import raw_dir_of
from tests.support import logrec
from warehouse_files import layout
from warehouse_files.durable import ensure_dir

ROOT = Path(__file__).resolve().parents[2]
MIDNIGHT_US = 1_794_960_000_000_000  # 2026-11-18T00:00:00Z


def test_the_layout_as_documented() -> None:
    # The one place a test spells it: data directories written by earlier versions keep this.
    data = Path("data")
    assert layout.raw_dir(data) == Path("data/raw/violet")
    assert layout.wal_dir(data) == Path("data/wal")
    assert layout.partition_name("2026-11-18") == "received_date=2026-11-18"
    assert layout.file_name("host-s0-x", 12) == "part-host-s0-x-0000000012.parquet"
    assert layout.RAW_GLOB == "received_date=*/*.parquet"
    assert layout.parse_file_name("part-host-s0-x-0000000012.parquet") == ("host-s0-x", 12)
    assert layout.parse_file_name("part-x-12.parquet") is None
    assert layout.parse_file_name(".part-x-0000000012.parquet.ab12.tmp") is None
    assert layout.day_of_partition("received_date=2026-11-18") == "2026-11-18"
    assert layout.day_of_partition("received_date=today") is None
    assert not Path(layout.temp_name("part-x-0000000001.parquet", "ab12")).match("*.parquet")
    assert not Path(layout.aside_name("part-x-0000000001.parquet", "ab12")).match("*.parquet")


def test_the_service_seals_where_the_pipeline_reads(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(secrets=(), data_dir=data_dir)
    warehouse = Warehouse(data_dir=str(data_dir))
    assert warehouse.raw_dir == settings.raw_dir.resolve()  # Warehouse resolves its path
    assert raw_dir_of(data_dir) == settings.raw_dir

    ensure_dir(settings.wal_dir)
    writer = wal.SegmentWriter(settings.wal_dir, "inst-a", 3)
    stamps = [MIDNIGHT_US - 1, MIDNIGHT_US, MIDNIGHT_US + 1]
    writer.append([wal.encode_record(logrec(i, received_at_us=us)) for i, us in enumerate(stamps)])
    writer.close()
    result = sealer.seal_segment(writer.path, settings.raw_dir)
    sealed = sorted(p.relative_to(settings.raw_dir).as_posix() for p in result.files)
    assert len(sealed) == 2

    assert models.raw_files(warehouse.raw_dir) == sealed
    found, _ = sensors.new_files(warehouse.raw_dir, None, datetime(2026, 11, 18, tzinfo=UTC))
    assert sorted(found) == sealed
    for path in result.files:
        assert layout.parse_file_name(path.name) == ("inst-a", 3)
        assert layout.day_of_partition(path.parent.name) in {"2026-11-17", "2026-11-18"}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        loaded = models.load_staging(con, warehouse.raw_dir)
        assert (loaded.files, loaded.deliveries) == (2, 3)


# What spells a piece of the layout: a path joining "raw" and "violet", a path into "wal",
# and, in a string that is not prose (no whitespace: a path, a glob, a file name), the partition
# key or a sealed file's name.
_SPELLINGS = re.compile(r"received_date|raw/violet|part-.*\.parquet|^wal/")
_ALLOWED = {
    ROOT / "warehouse_files" / "layout.py",  # the layout itself
    Path(__file__).resolve(),  # pins the spelling above
}
_TREES = ("ingest", "pipelines", "simulator", "bench", "tests", "warehouse_files", "notebooks")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _text(node: ast.expr) -> str | None:
    """A string constant, or an f-string with `{}` for each value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
            for v in node.values
        )
    return None


def spellings(source: str) -> list[str]:
    """Where `source` (Python) spells the layout outside docstrings and comments."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    for node in ast.walk(tree):  # an f-string is read whole, not piece by piece
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right, left = _text(node.right), node.left
            inner = left.right if isinstance(left, ast.BinOp) else None
            if right == "wal" or (
                right == "violet" and inner is not None and _text(inner) == "raw"
            ):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Constant | ast.JoinedStr) and id(node) not in skip:
            text = _text(node)
            if text and not re.search(r"\s", text) and _SPELLINGS.search(text):
                found.append(f"line {node.lineno}: {text!r}")
    return found


def test_no_other_module_spells_the_layout() -> None:
    offenders = {}
    for tree in _TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if path.resolve() not in _ALLOWED:
                found = spellings(path.read_text())
                if found:
                    offenders[path.relative_to(ROOT).as_posix()] = found
    assert offenders == {}


def test_the_spelling_check_sees_each_form() -> None:
    assert spellings('raw = data_dir / "raw" / "violet"\n')
    assert spellings('log = root / "wal"\n')
    assert spellings('glob = "received_date=*/*.parquet"\n')
    assert spellings('part = raw / f"received_date={day}"\n')
    assert spellings('name = f"part-{instance}-{segment:010d}.parquet"\n')
    assert spellings('PART = re.compile(r"^part-(?P<instance>.+)-\\d{10}\\.parquet$")\n')
    assert spellings('patterns = ("wal/**/*.wal",)\n')
    assert not spellings('"""Files under raw/violet, received_date=YYYY-MM-DD."""\n')
    assert not spellings("# data/raw/violet/received_date=2026-11-18\nx = 1\n")
    assert not spellings('help = "seal the deliveries into DIR/raw/violet"\n')
    assert not spellings('fixtures = root / "fixtures" / "violet"\n')
