"""Fixtures: each test gets its own data directory; deliveries are built by tests.support."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import DeliveryFactory, make_delivery


@pytest.fixture
def delivery() -> DeliveryFactory:
    return make_delivery


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
