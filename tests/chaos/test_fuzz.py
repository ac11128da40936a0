"""Fuzzing (fast variant): a few hundred requests against the endpoint, a few batches of odd
payloads through the pipeline. `make chaos` runs >= 10,000 and more batches."""

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


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> fuzz.GoodWorld:
    return fuzz.good_world(tmp_path_factory.mktemp("good"))


def test_pipeline_fuzz(good: fuzz.GoodWorld, tmp_path: Path) -> None:
    result = fuzz.fuzz_pipeline(tmp_path, good, max_examples=12)
    print(result.examples, result.deliveries, dict(result.reasons), result.modeled)
    assert result.problems == []
