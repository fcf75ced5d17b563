"""Where a take's bytes are on this machine, found from the take's lock entry.

A take of shot S is looked for, in this order, at
- `<build_dir>/S.mp4` (the output: the picked take after a build or a pick),
- `<build_dir>/takes/S/<n>.mp4` (`build --all-takes`),
- the local cache's blob of the take's sha256 (every render this machine downloaded).
S comes from the spec (the shot-name rule), n is the lock's take number (an int)
and the sha256 has been checked as 64 hex digits: nothing from a request or the
lock is ever a path. A file counts only when it is a regular file reached without
a symbolic link (inside the build folder) whose size and sha256 are the take's; the
hash of a file is kept while its size, mtime and inode stay the same, so a page
refresh hashes nothing it hashed before."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

from shotbuild.store.lock import LockEntry
from shotbuild.untrusted import is_sha256

TAKES_DIR = "takes"  # <build_dir>/takes/<shot>/<n>.mp4, written by `build --all-takes`
MAX_HASHED = 4096  # files whose hash is remembered (then the memory starts over)

_hashed: dict[tuple[str, int, int, int], str] = {}
_hashing = threading.Lock()


def take_file(
    build_dir: Path, shot: str, number: int, entry: LockEntry, cache_dir: Path | None = None
) -> Path | None:
    """The file holding take `number` of `shot` (its lock entry `entry`), or None
    when its bytes are not on this machine (`cache_dir`: the local cache's folder,
    None for the default one)."""
    inside = [build_dir / f"{shot}.mp4", build_dir / TAKES_DIR / shot / f"{number}.mp4"]
    for path in inside:
        if _inside(build_dir, path) and holds(path, entry):
            return path
    blob = _blob(entry.sha256, cache_dir)
    return blob if blob is not None and holds(blob, entry) else None


def holds(path: Path, entry: LockEntry) -> bool:
    """Whether `path` is a regular file (not a link) with exactly the take's bytes."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != entry.size:
        return False
    return _sha256(path, st) == entry.sha256


def _inside(root: Path, path: Path) -> bool:
    """`path` is under `root` with no symbolic link on the way down."""
    try:
        return path.resolve(strict=True).parent == (root.resolve() / path.relative_to(root)).parent
    except (OSError, ValueError):
        return False


def _blob(sha256: str, cache_dir: Path | None) -> Path | None:
    from shotbuild.store.cache import Cache

    if not is_sha256(sha256):
        return None
    return Cache(cache_dir).blob_path(sha256)  # no index is opened: only the blob's path


def _sha256(path: Path, st: os.stat_result) -> str | None:
    memo = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if (known := _hashed.get(memo)) is not None:
        return known
    digest = hashlib.sha256()
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    found = digest.hexdigest()
    with _hashing:
        if len(_hashed) >= MAX_HASHED:
            _hashed.clear()
        _hashed[memo] = found
    return found
