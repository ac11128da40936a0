"""The ticker: closes a segment once it is old enough, and retries sealing that failed."""

from __future__ import annotations

import asyncio
import time

from ingest.commit import GroupCommit

_SEAL_RETRY_SECONDS = 5.0


class Ticker(GroupCommit):
    """Asks for a rotation when the open segment is old; retries failed seals."""

    async def _tick_loop(self) -> None:
        interval = self.config.seal_interval_seconds
        step = min(1.0, interval / 4)
        last_retry = time.monotonic()
        while True:
            await asyncio.sleep(step)
            seg = self._segment
            if seg is not None and seg.opened_at_us is not None:
                age = time.time() - seg.opened_at_us / 1e6
                if age >= interval:
                    self._rotate_requested = True
                    self._wake.set()
            if (self._unsealed or self._leftovers) and (
                time.monotonic() - last_retry >= _SEAL_RETRY_SECONDS
            ):
                last_retry = time.monotonic()
                retry, self._unsealed = self._unsealed, []
                for s in retry:
                    self._start_seal(s)
                if self._leftovers:
                    await self._in_io(self._retry_leftovers)
