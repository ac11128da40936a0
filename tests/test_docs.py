"""The README and docs/ stand on their own: every relative link resolves inside the repository
(the file exists; an #anchor names a heading of it), and every repository path the prose names
in backquotes exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    in_code = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().lower()
        out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_there_are_pages() -> None:
    assert len(PAGES) >= 7


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        outside = ROOT not in file.parents
        unknown_anchor = bool(anchor) and file.suffix == ".md" and anchor not in anchors(file)
        if not file.exists() or outside or unknown_anchor:
            broken.append(target)
    assert broken == []


def test_nothing_links_outside_the_repository() -> None:
    for page in PAGES:
        text = page.read_text()
        assert "../shared" not in text, page
        assert "violet-webhooks.md" not in text, page
        assert "design.md" not in text, page


# A path in backquotes that starts at one of the repository's top folders, e.g.
# `pipelines/core/build.py` or `sql/core/` (not a pattern: no <, *, { or spaces).
FOLDERS = ("pipelines", "ingest", "sql", "tests", "bench", "dev", "simulator", "warehouse_files",
           "notebooks", "docs")  # fmt: skip
PATH = re.compile(r"`((?:" + "|".join(FOLDERS) + r")/[^`<>*{}\s]*)`")


@pytest.mark.parametrize(
    "page",
    [*PAGES, ROOT / "bench" / "RESULTS.md", ROOT / "bench" / "RELIABILITY.md"],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_every_path_named_exists(page: Path) -> None:
    """A file or folder the prose names (moved code leaves no stale path behind)."""
    named = sorted(set(PATH.findall(page.read_text())))
    missing = [p for p in named if not (ROOT / p.split(":")[0]).exists()]
    assert missing == []
