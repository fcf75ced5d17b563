"""Crash-safe file writes: a temporary file in the same folder, fsync, os.replace."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
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
        import tempfile  # (with shutil, random, bz2, lzma: only when a file is written)

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


# -- reading a file named by a spec ----------------------------------------------------


class NotARegularFile(ShotbuildError):
    """A reference file is a link, a FIFO, a device or a folder at the moment it is read."""


def open_regular(path: Path, root: Path | None = None) -> IO[bytes]:
    """Open `path` for reading without following a symbolic link in any component
    below `root` (default: its folder), and only if it is a regular file, checked on
    the open descriptor (so a file swapped for a link or a FIFO after validate is
    refused at the moment it is read, and a FIFO cannot hang the read)."""
    base = root if root is not None else path.parent
    parts = _parts_below(path, base)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    for part in parts[:-1]:
        fd = _step(fd, part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, path)
    fd = _step(fd, parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, path)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(f"{path}: is not a regular file; give a plain file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _parts_below(path: Path, base: Path) -> list[str]:
    try:
        rel = Path(os.path.normpath(path)).relative_to(os.path.normpath(base))
    except ValueError:
        raise NotARegularFile(f"{path}: is outside {base}; keep references inside it") from None
    parts = [p for p in rel.parts if p not in ("", ".")]
    if not parts or ".." in parts:
        raise NotARegularFile(f"{path}: is outside {base}; keep references inside it")
    return parts


def _step(dir_fd: int, name: str, flags: int, path: Path) -> int:
    """Open `name` inside the folder `dir_fd` (which is closed); the new descriptor."""
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise NotARegularFile(
                f"{path}: is or goes through a symbolic link; give the file itself"
            ) from None
        raise
    finally:
        os.close(dir_fd)
