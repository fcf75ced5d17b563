"""Where a take's bytes are on this machine, found from the take's lock entry.

A take of shot S is looked for, in this order, at
- `<build_dir>/S.mp4` (the output: the picked take after a build or a pick),
- `<build_dir>/takes/S/<n>.mp4` (`build --all-takes`),
- the local cache's blob of the take's sha256 (every render this machine downloaded).
S comes from the spec (the shot-name rule), n is the lock's take number (an int)
and the sha256 has been checked as 64 hex digits: nothing from a request or the
lock is ever a path. A file counts only when it is a regular file reached without
a symbolic link (inside the build folder) whose size and sha256 are the take's.

Hashing is avoided where a stamp says what a file holds, the way `plan` decides an
output is up to date: a file in the build folder whose (size, mtime_ns, inode) is
the one the build recorded in the manifest with the take's sha256 holds the take
(the manifest is read again only when it changes); a blob's hash is kept with its
stamp in the cache's index (as reference files' hashes are), so it is read once on
this machine, not once per `shotbuild review`. Any other file is hashed, and its
hash kept in memory while its size, mtime and inode stay the same."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from shotbuild.errors import ShotbuildError
from shotbuild.store.lock import LockEntry
from shotbuild.untrusted import is_sha256

if TYPE_CHECKING:
    from shotbuild.store.cache import Cache
    from shotbuild.store.outputs import Owned

TAKES_DIR = "takes"  # <build_dir>/takes/<shot>/<n>.mp4, written by `build --all-takes`
MAX_HASHED = 4096  # files whose hash is remembered (then the memory starts over)

Stamp = tuple[int, int, int]  # size, mtime_ns, inode

_hashed: dict[tuple[str, int, int, int], str] = {}
_hashing = threading.Lock()
_manifests: dict[Path, tuple[tuple[int, ...], Mapping[str, Owned]]] = {}


def take_file(
    build_dir: Path, shot: str, number: int, entry: LockEntry, cache_dir: Path | None = None
) -> Path | None:
    """The file holding take `number` of `shot` (its lock entry `entry`), or None
    when its bytes are not on this machine (`cache_dir`: the local cache's folder,
    None for the default one)."""
    outputs = _outputs(build_dir)
    for rel in (f"{shot}.mp4", f"{TAKES_DIR}/{shot}/{number}.mp4"):
        path = build_dir / rel
        if _inside(build_dir, path) and holds(path, entry, outputs.get(rel)):
            return path
    from shotbuild.store.cache import Cache

    if not is_sha256(entry.sha256):
        return None
    cache = Cache(cache_dir)  # no index is opened unless a blob's hash is looked up
    blob = cache.blob_path(entry.sha256)
    return blob if holds(blob, entry, cache=cache) else None


def holds(
    path: Path, entry: LockEntry, owned: Owned | None = None, *, cache: Cache | None = None
) -> bool:
    """Whether `path` is a regular file (not a link) with exactly the take's bytes:
    said by `owned` (its manifest entry) when its stamp is the file's, else hashed
    (a blob of `cache`: with the hash kept in the cache's index)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != entry.size:
        return False
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    if owned is not None and (owned.size, owned.mtime_ns, owned.inode) == stamp:
        return owned.sha256 == entry.sha256  # what the build wrote there, as `plan` trusts it
    return _sha256(path, stamp, cache) == entry.sha256


def _outputs(build_dir: Path) -> Mapping[str, Owned]:
    """The build folder's manifest entries, read again only when the file changed."""
    from shotbuild.store.outputs import MANIFEST_NAME, Manifest

    try:
        st = os.stat(build_dir / MANIFEST_NAME)
    except OSError:
        return {}
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    known = _manifests.get(build_dir)
    if known is not None and known[0] == stamp:
        return known[1]
    entries = dict(Manifest(build_dir).entries)
    with _hashing:
        if len(_manifests) >= 64:
            _manifests.clear()
        _manifests[build_dir] = (stamp, entries)
    return entries


def _inside(root: Path, path: Path) -> bool:
    """`path` is under `root` with no symbolic link on the way down."""
    try:
        return path.resolve(strict=True).parent == (root.resolve() / path.relative_to(root)).parent
    except (OSError, ValueError):
        return False


def _sha256(path: Path, stamp: Stamp, cache: Cache | None = None) -> str | None:
    memo = (str(path), *stamp)
    if (known := _hashed.get(memo)) is not None:
        return known
    found = _kept(path, stamp, cache) if cache is not None else None
    if found is None:
        found = _digest(path)
        if found is not None and cache is not None:
            _keep(path, stamp, found, cache)
    if found is not None:
        with _hashing:
            if len(_hashed) >= MAX_HASHED:
                _hashed.clear()
            _hashed[memo] = found
    return found


def _digest(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _kept(path: Path, stamp: Stamp, cache: Cache) -> str | None:
    """The hash the cache's index keeps for `path` at this very stamp, if any."""
    try:
        with cache:
            row = cache.stat_load(str(path))
    except ShotbuildError:  # an index that cannot be opened: hash the file
        return None
    return row[3] if row is not None and row[:3] == stamp and is_sha256(row[3]) else None


def _keep(path: Path, stamp: Stamp, sha256: str, cache: Cache) -> None:
    with contextlib.suppress(ShotbuildError), cache:  # a hash not kept is read again later
        cache.stat_save(str(path), (*stamp, sha256))
