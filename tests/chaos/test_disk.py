"""Disk full under the running service (a tmpfs the test mounts: needs root, as CI has)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos import disk

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")
def test_full_disks_get_503_with_retry_after_and_recover_by_themselves(tmp_path: Path) -> None:
    result = disk.disk_full(tmp_path)
    for phase in result.phases:
        print(phase.name, dict(phase.statuses), phase.readyz[:1])
    assert result.problems == []
    assert result.raw.acked > 0
