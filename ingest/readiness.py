"""Readiness: whether a delivery could be stored now (`/readyz`), and if not, why."""

from __future__ import annotations

import logging
import shutil

from ingest.commit import GroupCommit
from ingest.problems import Problem, problem_of

log = logging.getLogger("ingest.store")  # the store's parts log as one logger


class Readiness(GroupCommit):
    """Whether a delivery could be stored now."""

    async def check_ready(self) -> Problem | None:
        """None when a delivery could be stored now, else why not."""
        try:
            await self._in_io(self._ensure_segment)
            free = shutil.disk_usage(self.config.wal_dir).free
        except OSError as exc:
            log.warning(
                "not ready: the log cannot be opened",
                extra={"fields": {"event": "not_ready", "error": str(exc)}},
            )
            cause, reason = problem_of(exc)
            return Problem(cause, f"log not writable: {reason}")
        if free < self.config.min_free_bytes:
            return Problem(
                "low_disk",
                f"free disk {free} bytes is below the minimum {self.config.min_free_bytes}",
            )
        # The log opens and there is room: a failure seen earlier no longer holds.
        self.last_error = None
        return None
