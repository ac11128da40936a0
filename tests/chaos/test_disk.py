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


@pytest.mark.skipif(os.geteuid() != 0, reason="installing strace needs root (CI runs as root)")
def test_fdatasync_and_fsync_errors_get_503_and_lose_no_acknowledged_delivery(
    tmp_path: Path,
) -> None:
    result = disk.io_errors_injected(tmp_path, first=150, count=30, deliveries=400)
    print(dict(result.statuses), result.failed_batches, result.accepting_again_after)
    assert result.problems == []
    assert result.failed_batches >= 30
    assert result.raw.acked > 0
