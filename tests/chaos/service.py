"""The real ingest service as the chaos suite drives it: started, killed and watched from outside.

Everything here observes the service the way an operator could: its process group in /proc
(RSS, open files, the sealing process), its sockets in /proc/net/tcp, and its files through
inotify, which is how the suite kills at the dangerous moments (a Parquet temp file appears, a
sealed file is renamed into place, a log segment is shrunk or deleted) without any hook in the
code under test.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import select
import signal
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from ingest.probe import NotReady, wait_ready
from tests.support import ROOT, SECRET, SERVE, free_port
from warehouse_files import layout


@dataclass
class Service:
    """`python -m ingest serve` in its own process group (so kill -9 takes the sealer too)."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    nofile: int | None = None  # RLIMIT_NOFILE of the service (None: inherited)
    wrap: list[str] = field(default_factory=list)  # a command the service runs under (strace)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/violet"

    def launch(self, wait: bool = True, timeout: float = 60.0) -> Service:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VIOLET_")},
            "VIOLET_APP_SECRET": SECRET,
            "VIOLET_DATA_DIR": str(self.data_dir),
            "VIOLET_MIN_FREE_BYTES": "0",
            **self.env,
        }
        nofile = self.nofile

        def preexec() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / f"service-{self.port}-{time.monotonic_ns()}.log"
        self.logs.append(self.log_path)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*self.wrap, *SERVE, "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.proc is not None
        try:
            wait_ready(f"{self.url}/readyz", self.proc, timeout=timeout)
        except NotReady as exc:
            raise AssertionError(f"service not ready ({exc}):\n{self.log()[-3000:]}") from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def all_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def kill9(self) -> None:
        """SIGKILL the whole process group: the server, its sealing process, everything."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        wait_group_gone(self.proc.pid)

    def stop(self, timeout: float = 60.0) -> tuple[int, float]:
        """SIGTERM and wait; return (exit status, seconds it took)."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        seconds = time.monotonic() - started
        wait_group_gone(self.proc.pid)
        return code, seconds

    def ensure_dead(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill9()

    def pids(self) -> list[int]:
        assert self.proc is not None
        return group_pids(self.proc.pid)

    def sealer_pids(self) -> list[int]:
        """The sealing process (a spawned multiprocessing worker of the server)."""
        out = []
        for pid in self.pids():
            cmdline = _read(f"/proc/{pid}/cmdline")
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                out.append(pid)
        return out

    def rss_bytes(self) -> int:
        return sum(rss_of(pid) for pid in self.pids())

    def open_files(self) -> int:
        return sum(fds_of(pid) for pid in self.pids())

    def connections(self) -> int:
        return tcp_connections(self.port)

    def metric(self, name: str) -> float | None:
        try:
            text = httpx.get(f"{self.url}/metrics", timeout=5).text
        except httpx.HTTPError:
            return None
        total = None
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
        return total


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def group_pids(pgid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read(f"/proc/{entry}/stat")
        if not stat:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        fields = stat.rsplit(b")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            out.append(int(entry))
    return out


def wait_group_gone(pgid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        # Zombies of an exited group still count; they are reaped by their parent (gone).
        if all(_read(f"/proc/{p}/stat").rsplit(b")", 1)[-1][:2] == b" Z" for p in group_pids(pgid)):
            return
        time.sleep(0.02)
    raise AssertionError(f"processes of group {pgid} outlived it: {group_pids(pgid)}")


def rss_of(pid: int) -> int:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(b"VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def fds_of(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def tcp_connections(port: int) -> int:
    """Sockets of this machine whose local port is `port`, except the listener and TIME_WAIT:
    the connections the service holds (established, or closed by the client and not yet by it)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in _read(table).splitlines()[1:]:
            parts = line.split()
            local, state = parts[1], parts[3]
            if int(local.rsplit(b":", 1)[1], 16) == port and state not in (b"0A", b"06"):
                n += 1
    return n


def partitions_around_now(raw_dir: Path) -> list[Path]:
    """Today's and tomorrow's (UTC) partition directories, made now so that they can be
    watched before the service writes into them."""
    today = datetime.now(UTC).date()
    dirs = [
        layout.partition_dir(raw_dir, d.isoformat()) for d in (today, today + timedelta(days=1))
    ]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


# ---- inotify ---------------------------------------------------------------------------------

IN_MODIFY = 0x002
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
_EVENT = struct.Struct("iIII")


@dataclass(frozen=True)
class FsEvent:
    directory: Path
    name: str
    mask: int


class Inotify:
    """Linux inotify through libc: the moments the service touches its files, as they happen."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self._dirs: dict[int, Path] = {}

    def watch(self, directory: Path, mask: int) -> None:
        wd = self._libc.inotify_add_watch(self.fd, str(directory).encode(), mask)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {directory}")
        self._dirs[wd] = directory

    def events(self, timeout: float) -> Iterator[FsEvent]:
        """Events until `timeout` seconds pass (the caller stops iterating when it has seen
        what it waited for)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            pos = 0
            while pos < len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, pos)
                raw = data[pos + _EVENT.size : pos + _EVENT.size + length]
                pos += _EVENT.size + length
                yield FsEvent(self._dirs.get(wd, Path("?")), raw.rstrip(b"\0").decode(), mask)

    def drain(self) -> None:
        """Forget the events that happened so far."""
        while True:
            try:
                if not os.read(self.fd, 65536):
                    return
            except BlockingIOError:
                return

    def close(self) -> None:
        os.close(self.fd)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]
