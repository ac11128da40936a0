"""Crash loops under load: kill -9 of the service and of its sealing process, at random moments
and at the dangerous ones, while senders retry like Violet; then every acknowledged delivery must
be in raw Parquet byte for byte, once per acknowledgement, and the warehouse built from it must
equal the simulator's truth.

Kinds of kill (the moment is seen through inotify on the data directory, not through any hook):

- `service-random` / `sealer-random`: whenever the chaos thread gets there.
- `sealer-mid-seal` / `service-mid-seal`: as a Parquet temp file is created.
- `sealer-after-rename` / `service-after-rename`: as a sealed file is renamed into place, before
  its log segment is released.
- `sealer-mid-drop` / `service-mid-drop`: as that segment is first changed (shrunk), moved or
  deleted after the rename: the release of the log.
- `service-during-recovery`: after a service kill, the restarted service is killed again while
  it recovers the segments left behind (its first write under raw/ or wal/).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ingest import wal
from simulator import stream
from simulator.deliveries import Delivery
from simulator.options import Options
from simulator.truth import write_truth
from tests.chaos.service import (
    IN_CREATE,
    IN_DELETE,
    IN_MODIFY,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    FsEvent,
    Inotify,
    Service,
    partitions_around_now,
)
from tests.chaos.traffic import (
    Ledger,
    RawCheck,
    build_warehouse,
    check_raw,
    compare_with_truth,
    send_like_violet,
)
from tests.pipelines.conftest import end_of
from tests.support import SECRET
from warehouse_files import layout

KINDS = (
    "sealer-mid-drop",
    "service-random",
    "sealer-mid-seal",
    "service-mid-drop",
    "sealer-after-rename",
    "service-during-recovery",
    "service-mid-seal",
    "sealer-random",
    "service-after-rename",
)
# Big segments (> 4 MiB) so that releasing one is not a single unlink; a padding header (kept
# in raw's headers only) makes them without changing any body the warehouse models.
SERVICE_ENV = {
    "VIOLET_SEAL_MAX_BYTES": str(9 * 1024 * 1024 // 2),
    "VIOLET_SEAL_MAX_RECORDS": "1000000",
    "VIOLET_SEAL_INTERVAL_SECONDS": "60",
}
PAD_BYTES = 6000


def _state(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return b""


@dataclass
class CrashResult:
    kills: Counter[str] = field(default_factory=Counter)  # kind -> kills that hit their moment
    missed: Counter[str] = field(default_factory=Counter)  # moment not seen in time: random kill
    restarts: int = 0
    ledger: Ledger = field(default_factory=Ledger)
    raw: RawCheck = field(default_factory=RawCheck)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_errors: Counter[str] = field(default_factory=Counter)

    @property
    def total_kills(self) -> int:
        return sum(self.kills.values()) + sum(self.missed.values())


class _Chaos(threading.Thread):
    def __init__(self, service: Service, kills: int, result: CrashResult, seed: int) -> None:
        super().__init__(daemon=True, name="chaos")
        self.service = service
        self.kills = kills
        self.result = result
        self.rng = random.Random(seed)
        self.done = threading.Event()  # the senders finished
        self.finished = threading.Event()  # every kill made: the senders may go full speed
        self.error: BaseException | None = None
        raw = layout.raw_dir(service.data_dir)
        self.partitions = partitions_around_now(raw)
        self.slot = layout.wal_dir(service.data_dir) / "slot-0"
        self.slot.mkdir(parents=True, exist_ok=True)

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # reported by the caller
            self.error = exc
        finally:
            self.finished.set()

    def _watch(self) -> Inotify:
        ino = Inotify()
        for d in self.partitions:
            ino.watch(d, IN_CREATE | IN_MOVED_TO)
        ino.watch(self.slot, IN_MODIFY | IN_DELETE | IN_MOVED_FROM)
        return ino

    def _wait(self, ino: Inotify, kind: str, timeout: float) -> bool:
        """Block until the moment `kind` waits for, and return True with the service's process
        group stopped (SIGSTOP) right there; False if it did not come in time."""
        for ev in ino.events(timeout):
            if self.done.is_set():
                return False
            if ev.directory not in self.partitions:
                continue
            if kind.endswith("mid-seal") and ev.mask & IN_CREATE and ev.name.endswith(".tmp"):
                self._freeze()
                return True
            sealed = layout.parse_file_name(ev.name)
            if not (sealed and ev.mask & IN_MOVED_TO):
                continue
            self._freeze()
            if kind.endswith("after-rename"):
                return True
            segment = self.slot / wal.segment_name(*sealed)
            if self._step_until_released(segment):
                return True
            self._thaw()
        return False

    def _freeze(self) -> None:
        """SIGSTOP every process of the service and wait until each has stopped (a process in
        a system call stops when the call returns)."""
        assert self.service.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.service.proc.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            states = [_state(pid) for pid in self.service.pids()]
            if all(st in (b"T", b"t", b"Z", b"") for st in states):
                return
            time.sleep(0.0002)

    def _thaw(self) -> None:
        assert self.service.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.service.proc.pid, signal.SIGCONT)

    def _step_until_released(self, segment: Path) -> bool:
        """With the service stopped just after a sealed file's rename, let it run in slices of
        tens of microseconds until its log segment starts being released: shrunk, or moved or
        deleted (a stopped process stops after its system call returns, so this is right
        after the first step of the release). True, stopped there; False if the segment was
        already gone at the rename or did not change within 10 s."""
        try:
            original = segment.stat().st_size
        except FileNotFoundError:
            return False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self._thaw()
            spin_until = time.perf_counter() + self.rng.uniform(10e-6, 60e-6)
            while time.perf_counter() < spin_until:
                pass
            self._freeze()
            try:
                size = segment.stat().st_size
            except FileNotFoundError:
                return True
            if size != original:
                return True
        return False

    def _recovery_moment(self, ev: FsEvent) -> bool:
        if ev.directory in self.partitions:
            return ev.name.endswith(".tmp") or layout.parse_file_name(ev.name) is not None
        return ev.name.endswith(".wal")

    def _kill_sealer(self) -> bool:
        pids = self.service.sealer_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return bool(pids)

    def _restart(self) -> None:
        self.service.launch(wait=True)
        self.result.restarts += 1

    def _loop(self) -> None:
        n = 0
        while n < self.kills and not self.done.is_set():
            kind = KINDS[n % len(KINDS)]
            n += 1
            ino = self._watch()
            try:
                if kind == "service-during-recovery":
                    self._during_recovery(ino)
                    continue
                if kind.endswith("random"):
                    # The sealing process starts with the first seal of each service run.
                    deadline = time.monotonic() + 8
                    while kind.startswith("sealer") and not self.service.sealer_pids():
                        if time.monotonic() > deadline or self.done.is_set():
                            break
                        time.sleep(0.05)
                    time.sleep(self.rng.uniform(0.3, 2.0))
                    hit = True
                else:
                    hit = self._wait(ino, kind, timeout=8.0)
                if self.done.is_set():
                    self._thaw()
                    return
                if kind.startswith("sealer"):
                    if not self._kill_sealer():
                        hit = False  # no sealing process right now (it starts on first seal)
                    self._thaw()
                else:
                    self.service.kill9()
                    self._restart()
                (self.result.kills if hit else self.result.missed)[kind] += 1
                if kind.startswith("sealer"):
                    time.sleep(self.rng.uniform(0.2, 1.0))
            finally:
                ino.close()

    def _during_recovery(self, ino: Inotify) -> None:
        """Kill the service (leaving log segments behind), start it and kill it again while it
        recovers them, then start it for good."""
        time.sleep(self.rng.uniform(0.5, 1.5))
        if self.done.is_set():
            return
        self.service.kill9()
        ino.drain()
        self.service.launch(wait=False)
        hit = False
        for ev in ino.events(20.0):
            if self._recovery_moment(ev):
                hit = True
                break
        self.service.kill9()
        self._restart()
        (self.result.kills if hit else self.result.missed)["service-during-recovery"] += 1


def crash_loop(
    workdir: Path,
    options: Options,
    *,
    kills: int,
    seed: int = 1,
    rate: float = 300.0,
    concurrency: int = 16,
    deadline_s: float = 300.0,
) -> CrashResult:
    """Send `options`' world through the service while killing it `kills` times; verify raw
    and the warehouse. Bounded by `deadline_s` of sending (plus restarts and the checks)."""
    started = time.monotonic()
    data_dir = workdir / "data"
    truth_dir = workdir / "truth"
    write_truth(options, truth_dir)
    deliveries = stream.deliveries(options, SECRET)
    result = CrashResult()
    service = Service(data_dir, env=SERVICE_ENV)
    chaos = _Chaos(service, kills, result, seed)
    try:
        service.launch()
        chaos.start()
        asyncio.run(
            _send(
                deliveries,
                service,
                result.ledger,
                rate,
                concurrency,
                deadline_s,
                seed,
                chaos.finished,
            )
        )
        chaos.done.set()
        chaos.join(timeout=120)
        if chaos.error is not None:
            result.problems.append(f"chaos thread failed: {chaos.error!r}")
        if not service.alive():
            service.launch()
        code, _ = service.stop()
        if code not in (0, -15):
            result.problems.append(f"final graceful stop exited {code}")
    finally:
        chaos.done.set()
        service.ensure_dead()
    log = service.all_logs()
    for event in ("log_recovered", "seal_failed", "recovery_failed", "log_write_failed"):
        result.log_errors[event] = log.count(f'"event": "{event}"')
    result.log_errors["Traceback"] = log.count("Traceback")
    ledger = result.ledger
    if ledger.undelivered:
        result.problems.append(f"{ledger.undelivered} genuine deliveries never acknowledged")
    if ledger.bad_signature_acked:
        result.problems.append(f"{ledger.bad_signature_acked} bad signatures acknowledged")
    result.raw = check_raw(data_dir, ledger)
    result.problems += result.raw.problems()
    database = workdir / "warehouse.duckdb"
    try:
        build_warehouse(layout.raw_dir(data_dir), database, end_of(options))
        result.problems += compare_with_truth(database, truth_dir)
    except Exception as exc:  # a failed build is a finding like any other
        result.problems.append(f"building the warehouse from raw failed: {exc!r}")
    result.seconds = time.monotonic() - started
    return result


async def _send(
    deliveries: list[Delivery],
    service: Service,
    ledger: Ledger,
    rate: float,
    concurrency: int,
    deadline_s: float,
    seed: int,
    unthrottle: threading.Event,
) -> None:
    await send_like_violet(
        deliveries,
        service.webhook,
        ledger,
        concurrency=concurrency,
        rate=rate,
        deadline_s=deadline_s,
        pad_bytes=PAD_BYTES,
        seed=seed,
        unthrottle=unthrottle,
    )
