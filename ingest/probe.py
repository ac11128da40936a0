"""Waiting for a freshly started service to answer, for the scripts and tests that start one."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


class NotReady(Exception):
    """The process exited, or did not answer as expected in time."""


def wait_ready(
    url: str,
    proc: subprocess.Popen[bytes],
    timeout: float = 60.0,
    ok: Callable[[int], bool] = lambda status: status == 200,
) -> None:
    """Poll `url` until its status satisfies `ok`; raise NotReady if `proc` exits first or
    `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotReady(f"the process exited with status {proc.returncode}")
        try:
            if ok(httpx.get(url, timeout=1).status_code):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise NotReady(f"no answer from {url} within {timeout:.0f} s")
