"""Crash-safe file writes: a temporary file in the same folder, fsync, os.replace."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from shotbuild.errors import ShotbuildError

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class DiskFull(ShotbuildError):
    """A write found no space (or quota) left; nothing half-written was kept."""


@contextlib.contextmanager
def disk_error(path: Path) -> Iterator[None]:
    """Turn a full disk (or quota) under `path` into one line naming it."""
    try:
        yield
    except OSError as e:
        if e.errno not in _FULL:
            raise
        raise DiskFull(
            f"{path}: no space left on the device ({e.strerror}); free some space and run again"
        ) from None


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary file that replaces `path` in one step when the block ends
    without an error; on error the temporary file is removed and `path` is untouched.
    The file gets the mode `path` had, else the one a new file gets under the umask
    (0644 under umask 022), not mkstemp's 0600."""
    with disk_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fchmod(f.fileno(), _mode_for(path))
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~umask()


_umask_lock = threading.Lock()


@functools.cache
def umask() -> int:
    """The process's umask, read once: from /proc where it can be read without
    changing it, else by setting and restoring it (once, under a lock)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask
