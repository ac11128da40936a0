"""Every kind of unauthenticated abuse at once, with good traffic flowing (fast variant; the
long run measures each kind on its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import abuse

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def test_abuse_is_bounded_and_good_traffic_flows(tmp_path: Path) -> None:
    result = abuse.abuse(tmp_path, [abuse.ALL])
    for k in result.kinds:
        print(k)
    assert result.problems == []
    [kind] = result.kinds
    assert kind.good["200"] > 0
