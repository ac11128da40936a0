"""Full disks and failing disks under the running service.

- Disk full: the data directory is a small tmpfs and `raw/` another one inside it (mounted by
  the test: it runs as root, as CI does). Ballast files fill first the raw store (sealing
  fails, deliveries must still be acknowledged from the log), then the log's file system
  (deliveries must get 503 with Retry-After, never 2xx), then are deleted: the service must
  accept again and seal its backlog by itself, with no restart.
- I/O errors reported by the kernel: the service runs under strace, which makes its log's
  fdatasync and its sealing process's fsync calls fail with EIO for a window of calls (the
  data may or may not be on disk: the caller cannot know). Deliveries in a failed batch must
  get 503, never 2xx; the service must accept again by itself after the window, and after a
  stop (a segment whose sealing kept failing stays in the log) and a start without the
  injection, every acknowledged delivery must be in raw exactly once.
- A failing disk: the data directory is ext4 on a loop device whose backing file lives in a
  tmpfs smaller than the file system; once it is full write-back fails and ext4 aborts its
  journal. Afterwards the image is mounted elsewhere (journal replayed, as after a reboot), the
  log copied out and recovered by a fresh service. This device is known to lie: on the kernels
  here a write that reaches past the full tmpfs into a page it cannot allocate is acknowledged
  (write and fsync succeed) and the unallocated part reads back as zeros.
  `loop_device_drops_acknowledged_writes` measures that on the machine the run is on, so an
  acknowledged delivery lost in this scenario is told apart from one our code lost.
"""

from __future__ import annotations

import contextlib
import errno
import json
import mmap
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.chaos.service import Service
from tests.chaos.traffic import ATTEMPT, Ledger, RawCheck, check_raw
from tests.support import make_delivery
from warehouse_files import layout

OS_DETAIL = ("errno", "no space left", "input/output error", "read-only file system", "/")


def loop_device_drops_acknowledged_writes(workdir: Path) -> bool:
    """Whether a loop device over a full tmpfs acknowledges a write it then drops: fill a 1 MiB
    tmpfs through the device, write 8 KiB straddling its end with O_DIRECT and fsync, read it
    back from the backing file."""
    need_tools()
    with tmpfs(workdir / "device-probe", 1 << 20) as back:
        image = back / "disk.img"
        subprocess.run(["truncate", "-s", str(8 << 20), str(image)], check=True)
        loop = subprocess.run(
            ["losetup", "-f", "--show", str(image)], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            fd = os.open(loop, os.O_WRONLY | os.O_DIRECT)
            try:
                block = mmap.mmap(-1, 1 << 16)
                for offset in range(0, 1 << 20, 1 << 16):
                    block.seek(0)
                    block.write(os.urandom(1 << 16))
                    try:
                        os.pwrite(fd, block, offset)
                    except OSError:
                        break
                probe = os.urandom(8192)
                straddle = mmap.mmap(-1, 8192)
                straddle.write(probe)
                try:
                    written = os.pwrite(fd, straddle, (1 << 20) - 4096)
                    os.fsync(fd)
                except OSError:
                    return False  # the device said no: honest
            finally:
                os.close(fd)
        finally:
            subprocess.run(["losetup", "-d", loop], check=False)
        with open(image, "rb") as fh:
            fh.seek((1 << 20) - 4096)
            back_bytes = fh.read(8192)
        return written == 8192 and back_bytes != probe


@dataclass
class InjectedResult:
    statuses: Counter[str] = field(default_factory=Counter)
    raw: RawCheck = field(default_factory=RawCheck)
    failed_batches: int = 0  # 503s while the window was open
    accepting_again_after: int | None = None  # deliveries between the last 503 and the next 2xx
    left_in_log: list[str] = field(default_factory=list)  # segments not sealed at the stop
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def io_errors_injected(
    workdir: Path, first: int = 300, count: int = 60, deliveries: int = 1200
) -> InjectedResult:
    """The log's fdatasync calls `first`..`first+count-1` and the sealing process's 3rd to 8th
    fsync fail with EIO (strace fault injection); one signed delivery after another."""
    if not shutil.which("strace"):
        subprocess.run(["apt-get", "install", "-y", "-q", "strace"], check=True)
    started = time.monotonic()
    result = InjectedResult()
    ledger = Ledger()
    wrap = [
        "strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null",
        "-e", "trace=fdatasync,fsync",
        "-e", f"inject=fdatasync:error=EIO:when={first}..{first + count - 1}",
        "-e", "inject=fsync:error=EIO:when=3..8",
    ]  # fmt: skip
    service = Service(workdir / "data", env={"VIOLET_SEAL_MAX_RECORDS": "100"}, wrap=wrap)
    service.data_dir.mkdir(parents=True)
    service.launch()
    last_503: int | None = None
    try:
        with httpx.Client(timeout=10) as client:
            for i in range(deliveries):
                payload = {"id": 90_000 + i, "status": "ACCEPTED"}
                d = make_delivery("ORDER_UPDATED", payload, event_id=f"inj-{i}")
                aid = ledger.attempt(d.body, True)
                r = client.post(
                    service.webhook, content=d.body, headers={**d.headers, ATTEMPT: aid}
                )
                result.statuses[str(r.status_code)] += 1
                if 200 <= r.status_code < 300:
                    ledger.acked.add(aid)
                    if last_503 is not None and result.accepting_again_after is None:
                        result.accepting_again_after = i - last_503
                else:
                    last_503 = i
                    result.failed_batches += 1
                    if r.status_code == 503 and "retry-after" not in r.headers:
                        result.problems.append("a 503 without Retry-After")
    finally:
        code, _ = service.stop()
    # strace itself gets the SIGTERM too (-15); the service must still have stopped cleanly.
    if code not in (0, -15) or "Finished server process" not in service.all_logs():
        result.problems.append(f"the service did not stop cleanly (exit {code})")
    # A segment whose sealing kept failing (the injection also hits the sealing at the stop) stays
    # in the log, as it should: the next start, on a disk that works, seals it.
    result.left_in_log = sorted(p.name for p in layout.wal_dir(service.data_dir).rglob("*.wal"))
    rescuer = Service(service.data_dir)
    rescuer.launch()
    rescuer.stop()
    result.raw = check_raw(service.data_dir, ledger)
    bad = {s: n for s, n in result.statuses.items() if s not in ("200", "503")}
    if bad:
        result.problems.append(f"answers other than 200/503: {bad}")
    if result.failed_batches == 0:
        result.problems.append("no write failed: the injection proved nothing")
    if result.accepting_again_after is None:
        result.problems.append("the service did not accept again by itself")
    result.problems += result.raw.problems()
    if "Traceback" in service.all_logs():
        result.problems.append("the service logged a traceback")
    result.seconds = time.monotonic() - started
    return result


def need_tools() -> None:
    """mount, losetup and mkfs.ext4 (Debian: mount, e2fsprogs); installed if missing."""
    if all(shutil.which(t) for t in ("mount", "umount", "losetup", "mkfs.ext4")):
        return
    subprocess.run(["apt-get", "install", "-y", "-q", "mount", "e2fsprogs"], check=True)


@contextlib.contextmanager
def tmpfs(path: Path, size_bytes: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a ballast file until the file system is full."""
    ballast = directory / f"ballast-{uuid.uuid4().hex}"
    with open(ballast, "wb", buffering=0) as fh:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            try:
                while True:
                    fh.write(chunk)
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EIO):
                    raise
    return ballast


@dataclass
class Phase:
    name: str
    statuses: Counter[str] = field(default_factory=Counter)
    retry_after_missing: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    readyz: list[str] = field(default_factory=list)


class _Sender(threading.Thread):
    """One signed delivery after another (each with its own attempt id), into the current
    phase's counters, until stopped."""

    def __init__(self, service: Service, ledger: Ledger) -> None:
        super().__init__(daemon=True, name="disk-sender")
        self.service = service
        self.ledger = ledger
        self.phase = Phase("start")
        self.stop_event = threading.Event()
        self.i = 0

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop_event.is_set():
                self.i += 1
                payload = {"id": 70_000 + self.i, "status": "ACCEPTED", "pad": "x" * 2000}
                d = make_delivery("ORDER_UPDATED", payload, event_id=f"disk-{self.i}")
                aid = self.ledger.attempt(d.body, True)
                phase = self.phase
                t0 = time.perf_counter()
                try:
                    r = client.post(
                        self.service.webhook, content=d.body, headers={**d.headers, ATTEMPT: aid}
                    )
                except httpx.HTTPError:
                    phase.statuses["error"] += 1
                    continue
                phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
                phase.statuses[str(r.status_code)] += 1
                if 200 <= r.status_code < 300:
                    self.ledger.acked.add(aid)
                elif r.status_code == 503 and "retry-after" not in r.headers:
                    phase.retry_after_missing += 1
                if self.i % 20 == 0:
                    ready = client.get(f"{self.service.url}/readyz")
                    if ready.status_code != 200:
                        phase.readyz.append(ready.text)


@dataclass
class DiskResult:
    phases: list[Phase] = field(default_factory=list)
    raw: RawCheck = field(default_factory=RawCheck)
    recovered_after_s: float | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _os_detail(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        try:
            reason = str(json.loads(text).get("reason", "")) + str(
                json.loads(text).get("message", "")
            )
        except ValueError:
            reason = text
        if any(k in reason.lower() for k in OS_DETAIL):
            out.append(reason[:200])
    return out


def disk_full(workdir: Path, phase_s: float = 3.0, recover_within_s: float = 20.0) -> DiskResult:
    need_tools()
    started = time.monotonic()
    result = DiskResult()
    data_dir = workdir / "data"
    ledger = Ledger()
    env = {"VIOLET_SEAL_MAX_RECORDS": "200", "VIOLET_SEAL_INTERVAL_SECONDS": "0.5"}
    with tmpfs(data_dir, 48 << 20), tmpfs(data_dir / "raw", 8 << 20):
        service = Service(data_dir, env=env)
        sender = _Sender(service, ledger)
        try:
            service.launch()
            sender.start()

            def phase(name: str) -> Phase:
                p = Phase(name)
                sender.phase = p
                result.phases.append(p)
                return p

            phase("normal")
            time.sleep(phase_s)
            raw_ballast = fill(data_dir / "raw")
            phase("raw store full")
            time.sleep(phase_s * 2)  # sealing is retried every 5 s
            log_ballast = fill(data_dir)
            full = phase("log full too")
            time.sleep(phase_s)
            raw_ballast.unlink()
            log_ballast.unlink()
            back = phase("space back")
            t0 = time.monotonic()
            while time.monotonic() - t0 < recover_within_s:
                if back.statuses["200"] >= 20:
                    result.recovered_after_s = time.monotonic() - t0
                    break
                time.sleep(0.05)
            time.sleep(phase_s)
            phase("after")
            # The backlog of unsealed segments drains by itself.
            deadline = time.monotonic() + 30
            wal_dir = layout.wal_dir(data_dir)
            while time.monotonic() < deadline and list(wal_dir.rglob("*.wal"))[1:]:
                time.sleep(0.2)
            result.problems += (
                [
                    f"{len(list(wal_dir.rglob('*.wal')))} log segments still unsealed "
                    "30 s after space came back"
                ]
                if list(wal_dir.rglob("*.wal"))[1:]
                else []
            )
        finally:
            sender.stop_event.set()
            sender.join(timeout=30)
            if service.alive():
                code, _ = service.stop()
                if code not in (0, -15):
                    result.problems.append(f"graceful stop exited {code}")
            service.ensure_dead()
        for p in result.phases:
            bad = {s: n for s, n in p.statuses.items() if s not in ("200", "503")}
            if bad:
                result.problems.append(f"{p.name}: answers other than 200/503: {bad}")
            if p.retry_after_missing:
                result.problems.append(
                    f"{p.name}: {p.retry_after_missing} 503s without Retry-After"
                )
            for detail in _os_detail(p.readyz):
                result.problems.append(f"{p.name}: /readyz gives OS detail: {detail!r}")
        if not full.statuses["503"]:
            result.problems.append("no 503 while the log's disk was full")
        if result.phases[1].statuses["200"] == 0:
            result.problems.append("no delivery acknowledged while only the raw store was full")
        if result.recovered_after_s is None:
            result.problems.append(
                f"not accepting again {recover_within_s:.0f} s after space came back"
            )
        result.raw = check_raw(data_dir, ledger)
        result.problems += result.raw.problems()
    result.seconds = time.monotonic() - started
    return result


def _rescue(source: Path, target: Path) -> int:
    """Copy the log and raw files off a failed disk block by block (ddrescue-like): a block
    that cannot be read is written as zeros. Returns how many could not be read."""
    bad = 0
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_dir() or path.name == ".lock" or path.name.endswith(".tmp"):
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb", buffering=0) as src, open(out, "wb") as dst:
            size = path.stat().st_size
            for offset in range(0, size, 4096):
                n = min(4096, size - offset)
                try:
                    src.seek(offset)
                    block = src.read(n)
                except OSError:
                    bad += 1
                    block = b"\0" * n
                dst.write(block)
    return bad


@dataclass
class IoErrorResult:
    statuses: Counter[str] = field(default_factory=Counter)
    raw: RawCheck = field(default_factory=RawCheck)
    eio_seen: bool = False
    acked_before_failure: int = 0
    timeline: list[tuple[str, int]] = field(default_factory=list)  # (attempt, status)
    unreadable_blocks: int = 0  # blocks of the failed disk that read back as EIO (zeros)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def io_errors(
    workdir: Path,
    backing_bytes: int = 24 << 20,
    fs_bytes: int = 96 << 20,
    on_errors: str = "continue",
) -> IoErrorResult:
    """`on_errors`: ext4's errors= mount option (continue is mke2fs's default on Debian;
    remount-ro makes the file system refuse writes after its first error)."""
    need_tools()
    started = time.monotonic()
    result = IoErrorResult()
    back = workdir / "backing"
    mnt = workdir / "mnt"
    mnt.mkdir(parents=True, exist_ok=True)
    ledger = Ledger()
    with tmpfs(back, backing_bytes):
        image = back / "disk.img"
        subprocess.run(["truncate", "-s", str(fs_bytes), str(image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
        loop = subprocess.run(
            ["losetup", "-f", "--show", str(image)], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            subprocess.run(["mount", "-o", f"errors={on_errors}", loop, str(mnt)], check=True)
            data_dir = mnt / "data"
            service = Service(data_dir, env={"VIOLET_SEAL_MAX_RECORDS": "100000"})
            service.data_dir.mkdir(parents=True)
            try:
                service.launch()
                with httpx.Client(timeout=10) as client:
                    for i in range(20_000):
                        payload = {"id": 80_000 + i, "status": "ACCEPTED", "pad": "y" * 3000}
                        d = make_delivery("ORDER_UPDATED", payload, event_id=f"eio-{i}")
                        aid = ledger.attempt(d.body, True)
                        try:
                            r = client.post(
                                service.webhook, content=d.body, headers={**d.headers, ATTEMPT: aid}
                            )
                        except httpx.HTTPError:
                            result.statuses["error"] += 1
                            continue
                        result.statuses[str(r.status_code)] += 1
                        result.timeline.append((aid, r.status_code))
                        if 200 <= r.status_code < 300:
                            ledger.acked.add(aid)
                            if not result.eio_seen:
                                result.acked_before_failure += 1
                        else:
                            result.eio_seen = True
                            if r.status_code == 503 and "retry-after" not in r.headers:
                                result.problems.append("a 503 without Retry-After")
                        if result.statuses["503"] >= 50:
                            break
            finally:
                service.ensure_dead()  # a power cut: nothing gets to flush or seal
            # Log lines went to the failing disk's parent directory: keep them readable.
            log_text = service.all_logs()
        finally:
            subprocess.run(["umount", str(mnt)], check=False)
            subprocess.run(["losetup", "-d", loop], check=False)
        # What reached the disk: the image, copied to a healthy disk and mounted there, so that
        # ext4 replays its journal as after a reboot; then the files are copied off it.
        copy = workdir / "disk-after.img"
        subprocess.run(["cp", "--sparse=always", str(image), str(copy)], check=True)
    loop = subprocess.run(
        ["losetup", "-f", "--show", str(copy)], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        subprocess.run(["mount", loop, str(mnt)], check=True)
        survivor = workdir / "survivor"
        result.unreadable_blocks = _rescue(mnt / "data", survivor)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
        subprocess.run(["losetup", "-d", loop], check=False)
        copy.unlink(missing_ok=True)
    # A fresh service on a good disk recovers whatever the failed one left.
    rescuer = Service(workdir / "survivor")
    rescuer.launch()
    rescuer.stop()
    result.raw = check_raw(workdir / "survivor", ledger)
    bad = {s: n for s, n in result.statuses.items() if s not in ("200", "503")}
    if bad:
        result.problems.append(f"answers other than 200/503: {bad}")
    if not result.eio_seen:
        result.problems.append("the disk never failed: the test proved nothing")
    result.problems += result.raw.problems()
    if "Traceback" in log_text:
        result.problems.append("the service logged a traceback")
    result.seconds = time.monotonic() - started
    return result
