"""The notebooks: committed without outputs, and each runs top to bottom in a real Jupyter kernel
(nbclient) against the seeded snapshot, drawing every chart; a chart's empty frame fails it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from pipelines import analytics

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
NAMES = ("webhook_health", "orders_and_bags", "reconciliation")


def read(path: Path) -> nbformat.NotebookNode:
    book: nbformat.NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return book


def run(name: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute notebooks/<name>.ipynb in a new kernel (which inherits this environment)."""
    monkeypatch.setenv(analytics.SNAPSHOT_ENV, str(snapshot))
    book = read(NOTEBOOKS / f"{name}.ipynb")
    client = NotebookClient(
        book,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return book


def test_the_notebooks_are_committed_without_outputs() -> None:
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert set(NAMES) <= set(found)
    for name in found:
        book = read(NOTEBOOKS / f"{name}.ipynb")
        nbformat.validate(book)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{name}: a cell has outputs (clear them)"
                assert cell.execution_count is None, f"{name}: a cell has an execution count"


@pytest.mark.parametrize("name", NAMES)
def test_a_notebook_runs_top_to_bottom_and_draws_its_charts(
    name: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = run(name, snapshot, monkeypatch)
    charts = sum(cell.source.count("plt.show()") for cell in book.cells if cell.cell_type == "code")
    images = [
        output
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert charts >= 4
    assert len(images) == charts
    errors = [
        o
        for c in book.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert errors == []


def test_a_chart_with_no_rows_fails_the_notebook(
    snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emptied = tmp_path / "analytics.duckdb"
    shutil.copyfile(snapshot, emptied)
    with duckdb.connect(str(emptied)) as con:
        con.execute("delete from staging.quarantine")
    with pytest.raises(CellExecutionError, match="no rows for quarantined deliveries"):
        run("webhook_health", emptied, monkeypatch)
