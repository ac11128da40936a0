"""Fuzzing (fast variant): a few hundred requests against the endpoint. `make chaos` runs >= 10,000
and the pipeline's fuzz (fuzz.fuzz_pipeline), whose fast case joins this file with the fixes of
odd payloads it needs (issue 12: range and type checks at the door)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import fuzz

pytestmark = [pytest.mark.chaos]


@pytest.mark.e2e
def test_endpoint_fuzz(tmp_path: Path) -> None:
    result = fuzz.fuzz_endpoint(tmp_path, max_examples=400)
    print(result.examples, dict(result.statuses))
    assert result.problems == []
    assert result.raw.acked > 0
