"""Why the store cannot take a delivery: a cause and words for the HTTP answer (no OS text)."""

from __future__ import annotations

import errno
from typing import NamedTuple


class Problem(NamedTuple):
    """Why the store cannot take a delivery, for an HTTP answer: `cause` a short label,
    `reason` words. Neither carries OS error text or paths; those go to the log only."""

    cause: str
    reason: str


_DATA_DIR = Problem("data_dir_unusable", "the data directory cannot be used (missing or a file)")

_OS_CAUSES = {
    errno.ENOSPC: Problem("disk_full", "the disk is full"),
    errno.EDQUOT: Problem("disk_full", "the disk quota is used up"),
    errno.EFBIG: Problem("file_size_limit", "a file reached the size limit"),
    errno.EROFS: Problem("read_only", "the file system is mounted read-only"),
    errno.EACCES: Problem("permission_denied", "no permission to write the data directory"),
    errno.EPERM: Problem("permission_denied", "no permission to write the data directory"),
    errno.EMFILE: Problem("too_many_open_files", "the process has no file descriptor left"),
    errno.ENFILE: Problem("too_many_open_files", "the system has no file descriptor left"),
    errno.EIO: Problem("io_error", "the disk reported an I/O error"),
    errno.EBUSY: Problem("no_log_slot", "every log slot is held by another process"),
    errno.ENOENT: _DATA_DIR,
    errno.ENOTDIR: _DATA_DIR,
    errno.EISDIR: _DATA_DIR,
    errno.EEXIST: _DATA_DIR,
}


def problem_of(exc: BaseException) -> Problem:
    if isinstance(exc, OSError) and exc.errno in _OS_CAUSES:
        return _OS_CAUSES[exc.errno]
    if isinstance(exc, OSError):
        return Problem("os_error", "the operating system refused a log write")
    return Problem("internal_error", "the log write failed")


class StoreUnavailable(Exception):
    """The delivery could not be made durable; the caller must not acknowledge it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem
