"""The demo's own data directory: data/demo (VIOLET_DEMO_DIR), wiped at the start of every
`make demo`, so that a demo never mixes with the user's data (./data, VIOLET_DATA_DIR) nor with
an earlier demo. Only a directory the demo made (it holds MARKER) or an empty one is wiped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

DEMO_DIR_ENV = "VIOLET_DEMO_DIR"
DEFAULT_DEMO_DIR = Path("data") / "demo"
MARKER = ".violet-demo"


class NotADemoDirectory(Exception):
    """The directory holds files the demo did not make: it is never wiped."""


def demo_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(DEMO_DIR_ENV) or DEFAULT_DEMO_DIR).resolve()


def fresh(path: Path) -> Path:
    """Empty `path` (made by an earlier demo, or empty) and mark it as the demo's."""
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        raise NotADemoDirectory(
            f"{path} holds files the demo did not make; set {DEMO_DIR_ENV} to another directory"
        )
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / MARKER).write_text("made by `make demo`: wiped by the next one\n")
    return path
