"""Fixtures: each test gets its own data directory; deliveries are built by tests.support."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import DeliveryFactory, Server, make_delivery


@pytest.fixture
def delivery() -> DeliveryFactory:
    return make_delivery


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(data_dir: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(**kw: object) -> Server:
        s = Server(data_dir, **kw).start()  # type: ignore[arg-type]
        started.append(s)
        return s

    yield make
    for s in started:
        if s.proc is not None and s.proc.poll() is None:
            os.killpg(s.proc.pid, signal.SIGKILL)
            s.proc.wait()
