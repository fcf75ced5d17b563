"""Crash-safe file writes: a temporary file in the same folder, fsync, os.replace."""

from __future__ import annotations

import _thread
import contextlib
import errno
import functools
import os
import re
import stat
from collections.abc import Container, Iterator
from pathlib import Path
from typing import IO

from shotbuild.errors import ShotbuildError

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# an atomic write's temporary file: `.<name>.shotbuild-<writer's pid>-<random>.tmp`
_TEMP = re.compile(r"\.(?P<name>.+)\.shotbuild-(?P<pid>[1-9][0-9]{0,9})-[a-z0-9_]{1,32}\.tmp")


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

        prefix = f".{path.name}.shotbuild-{os.getpid()}-"  # the pid: see remove_dead_temps
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
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


def remove_dead_temps(folder: Path, names: Container[str], before: float) -> list[Path]:
    """Remove the temporary files of shotbuild's atomic writes of `names` in `folder`
    that a killed writer left: named as `atomic_writer` names them, a regular file,
    its writer's pid alive no more and last written before `before` (a time.time(),
    e.g. when the build took its lock). Nothing else is touched: a user's file, or
    one named before names carried the pid, has no pid to go by and is kept.
    Returns what was removed."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    gone = [Path(e.path) for e in entries if _dead_temp(e, names, before)]
    for path in gone:
        with contextlib.suppress(OSError):
            path.unlink()
    return gone


def _dead_temp(entry: os.DirEntry[str], names: Container[str], before: float) -> bool:
    match = _TEMP.fullmatch(entry.name)
    if match is None or match["name"] not in names:
        return False
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    return info.st_mtime < before and not _alive(int(match["pid"]))


def _alive(pid: int) -> bool:
    """Whether a process `pid` runs here (another user's counts: kept)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # not ours to signal, or unknown: alive, to be safe
    return True


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


_umask_lock = _thread.allocate_lock()  # threading.Lock, without importing threading


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
