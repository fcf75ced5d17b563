"""`shotbuild lock --take ours|theirs SHOT`: settle one shot of a conflicted merge
of shots.lock by taking one side's entry for it.

The two sides are git's conflict stages of the lock (`git show :2:<lock>` is ours,
`:3:<lock>` theirs; `:1:` the merge base), which git keeps in the index until the
file is `git add`ed. The lock in the work tree (the merge driver's result) keeps
every other shot as it is; when it holds git's conflict markers instead (no driver
installed), the other shots come from merging the three stages shot by shot. The
side not taken loses no render: each of its takes is kept in this machine's
paid-render records (shotbuild.store.records), so going back to it costs nothing."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from shotbuild.errors import ShotbuildError
from shotbuild.store.cache import Cache
from shotbuild.store.lock import (
    LockError,
    LockFile,
    ShotTakes,
    loads_lock_file,
    read_lock_file,
    write_lock_file,
)
from shotbuild.store.lockmerge import merge_lock_files
from shotbuild.store.records import PaidRender, paid_records, record_paid

STAGES = {"base": 1, "ours": 2, "theirs": 3}


@dataclass(frozen=True)
class Taken:
    shot: str
    side: str
    entry: ShotTakes | None  # None: that side has no such shot (it was removed there)
    recorded: int  # the other side's takes newly kept in the paid-render records
    other_takes: int  # the other side's takes of the shot


def take_side(lock_path: Path, shot: str, side: str, cache: Cache) -> Taken:
    """Write the lock with `side`'s entry for `shot`; record the other side's takes."""
    sides = {name: stage(lock_path, name) for name in STAGES}
    other = "theirs" if side == "ours" else "ours"
    chosen, rejected = sides[side].get(shot), sides[other].get(shot)
    if chosen is None and rejected is None:
        raise ShotbuildError(
            f"{lock_path}: neither side of the merge has a shot {shot!r}; give a shot"
            " named in the conflict message"
        )
    lock = _work_tree(lock_path, sides)
    lock = lock.with_shot(shot, chosen) if chosen is not None else lock.without(shot)
    recorded = _record(cache, shot, rejected) if rejected is not None else 0
    write_lock_file(lock_path, lock)
    count = len(rejected.takes) if rejected is not None else 0
    return Taken(shot, side, chosen, recorded, count)


def stage(lock_path: Path, side: str) -> LockFile:
    """One side of the conflicted lock, from git's index."""
    where = f":{STAGES[side]}:./{lock_path.name}"
    try:
        done = subprocess.run(
            ["git", "show", where],
            cwd=lock_path.parent,
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ShotbuildError(f"cannot run git ({e}); install git, then run this again") from e
    if done.returncode != 0:
        if side == "base":
            return LockFile()  # added on both sides: no common version
        raise ShotbuildError(
            f"{lock_path}: git has no {side} side of it (`git show {where}` failed): it is"
            " not in a merge conflict; --take settles a shot only while git lists the"
            " lock as conflicted (before `git add`)"
        )
    try:
        return loads_lock_file(done.stdout.decode("utf-8"), f"{lock_path} ({side})")
    except (LockError, UnicodeDecodeError) as e:
        raise ShotbuildError(f"{lock_path}: the {side} side is not a valid lock: {e}") from None


def _work_tree(lock_path: Path, sides: dict[str, LockFile]) -> LockFile:
    try:
        return read_lock_file(lock_path)
    except LockError:  # git's line merge left markers: merge the stages instead
        merged, _ = merge_lock_files(sides["base"], sides["ours"], sides["theirs"])
        return merged


def _record(cache: Cache, shot: str, takes: ShotTakes) -> int:
    """Keep each take of `takes` in the paid-render records; how many were new."""
    added = 0
    for number, entry in sorted(takes.takes.items()):
        try:
            render = PaidRender.of(
                entry,
                inputs_key=takes.key,
                take=number,
                shot=shot,
                request=cache.request(entry.key) or {},
            )
        except ValueError:
            continue  # a take whose key is not of these inputs: not a record we can make
        if any(r.video_id == render.video_id for r in paid_records(cache, render.key)):
            continue
        record_paid(cache, render)
        added += 1
    return added
