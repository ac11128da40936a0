from __future__ import annotations

import subprocess
import sys

from ingest.limits import FD_RESERVE, BodyBudget, fit_connection_cap
from tests.support import ROOT


def test_a_budget_is_shared_and_given_back() -> None:
    budget = BodyBudget(1000)
    assert budget.take(600)
    assert not budget.take(500)
    assert budget.used == 600
    assert budget.take(400)
    assert not budget.take(1)
    budget.give(600)
    budget.give(400)
    assert budget.used == 0


def test_the_connection_cap_fits_the_file_limit() -> None:
    # The subprocesses set hard limits up to 4096 (CI runs as root, which may raise them).
    assert fit_connection_cap(50)[0] == 50
    # Under a hard limit of 1024 the cap comes down so that twice it and the reserve fit.
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)); "
        "from ingest.limits import fit_connection_cap; print(*fit_connection_cap(1000))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert [int(x) for x in out] == [(1024 - FD_RESERVE) // 2, 1024]
    # A soft limit below what is needed is raised toward the hard one.
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (300, 4096)); "
        "from ingest.limits import fit_connection_cap; print(*fit_connection_cap(1000)); "
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert [int(x) for x in out] == [1000, 2256, 2256]
