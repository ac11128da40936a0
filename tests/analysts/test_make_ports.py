"""`make ui PORT=...`, `make demo PORT=...` and `make notebooks PORT=...` (or their VIOLET_*_PORT
settings) reach the commands they run (`make -n` prints them without running anything)."""

from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import ROOT


def planned(target: str, *args: str, **env: str) -> str:
    done = subprocess.run(
        ["make", "-n", target, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("target", "default", "setting", "command"),
    [
        ("ui", "3000", "VIOLET_UI_PORT", "-m pipelines ui --host 127.0.0.1 --port {}"),
        ("demo", "8080", "VIOLET_DEMO_PORT", "-m pipelines demo --port {}"),
        ("notebooks", "8888", "VIOLET_NOTEBOOK_PORT", "jupyter lab --ip 127.0.0.1 --port {}"),
    ],
)
def test_a_port_reaches_the_command(target: str, default: str, setting: str, command: str) -> None:
    assert command.format(default) in planned(target)
    assert command.format("4321") in planned(target, "PORT=4321")
    assert command.format("4322") in planned(target, **{setting: "4322"})
