"""Three-way merging of shots.lock, shot by shot and take by take.

When both sides hold the same inputs of a shot (the same shot key), the takes are
united: a take is a paid render, and a merge never loses one either side had. A
take number both sides hold as different renders merges three-way (the side that
changed it from base wins; both changed: a conflict keeping ours), and so does
the pick: two different new picks are a conflict that keeps ours' pick and is
resolved with `shotbuild pick SHOT N`.

Otherwise a shot merges like a line in a three-way merge of text:

- the same on both sides (unchanged, added alike, removed on both): keep it;
- changed, added or removed on one side only: take that side;
- changed on both sides to different inputs, or removed on one side and changed
  on the other: a conflict that keeps ours' shot (or the one shot there is: its
  takes are paid renders).

The merged lock is always a valid lock (no conflict markers); each conflict is a
value that says what was kept and what to do. Two takes are the same when they
are the same render (key, video_id and sha256)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from shotbuild.store.lock import (
    LockEntry,
    LockError,
    LockFile,
    ShotTakes,
    loads_lock_file,
    read_lock_text,
)

_T = TypeVar("_T")


@dataclass(frozen=True)
class Conflict:
    """One shot the merge could not settle alone."""

    shot: str
    ours: ShotTakes | None
    theirs: ShotTakes | None
    take: int | None = None  # both sides have this take number as different renders
    picks: bool = False  # both sides picked a different take

    def describe(self, lock_name: str) -> str:
        return (
            f"{lock_name}: shot {self.shot!r}: {self._what(lock_name)}; then `git add {lock_name}`"
        )

    def _what(self, lock_name: str) -> str:
        o, t = self.ours, self.theirs
        if o is not None and t is not None and self.picks:
            return (
                f"both sides picked a different take (ours {o.pick}, theirs {t.pick}); kept"
                f" ours; `shotbuild pick {self.shot} N` resolves it"
            )
        if o is not None and t is not None and self.take is not None:
            return (
                f"both sides have a different render as take {self.take} (ours"
                f" {o.takes[self.take].video_id}, theirs {t.takes[self.take].video_id}); kept"
                " ours (theirs stays in its machine's paid-render records)"
            )
        if o is None or t is None:
            gone, kept, there = ("ours", "theirs", t) if o is None else ("theirs", "ours", o)
            assert there is not None  # a conflict has a shot on one side at least
            entry = there.picked
            return (
                f"{gone} removed it, {kept} changed it ({_render(entry)}); kept {kept}'"
                " entry (a build drops it if the shot is gone)"
            )
        return (
            f"changed on both sides (ours: {_render(o.picked)}; theirs: {_render(t.picked)});"
            f" kept ours; if the merged spec matches theirs, run `shotbuild lock --take"
            f" theirs {self.shot}` (it reads `git show :3:{lock_name}`; ours' takes stay on"
            f" record) or copy its entry from `git show MERGE_HEAD:{lock_name}`"
        )


def _render(entry: LockEntry) -> str:
    return f"key {entry.key[:12]} video {entry.video_id}"


def _same(a: ShotTakes | None, b: ShotTakes | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.same_as(b)


def merge_lock_files(
    base: LockFile, ours: LockFile, theirs: LockFile
) -> tuple[LockFile, list[Conflict]]:
    """The merged lock (ours' side of each conflict) and the conflicts, by shot name."""
    merged: dict[str, ShotTakes] = {}
    conflicts: list[Conflict] = []
    for name in sorted(base.shots.keys() | ours.shots.keys() | theirs.shots.keys()):
        shot, found = merge_shot(name, base.get(name), ours.get(name), theirs.get(name))
        conflicts.extend(found)
        if shot is not None:
            merged[name] = shot
    return LockFile(merged), conflicts


def merge_shot(
    name: str, b: ShotTakes | None, o: ShotTakes | None, t: ShotTakes | None
) -> tuple[ShotTakes | None, list[Conflict]]:
    """One shot's merge: the shot to keep (None: removed) and its conflicts."""
    if o is not None and t is not None and o.key == t.key:
        return _union(name, b if b is not None and b.key == o.key else None, o, t)
    if _same(o, t) or _same(t, b):
        return o, []
    if _same(o, b):
        return t, []
    return (o if o is not None else t), [Conflict(name, o, t)]


def _union(
    name: str, b: ShotTakes | None, o: ShotTakes, t: ShotTakes
) -> tuple[ShotTakes, list[Conflict]]:
    """Both sides hold takes of the same inputs: keep every take either has; a take
    number both have as different renders merges three-way, like the pick."""
    takes: dict[int, LockEntry] = {}
    conflicts: list[Conflict] = []
    for n in sorted(o.takes.keys() | t.takes.keys()):
        mine, other = o.takes.get(n), t.takes.get(n)
        base = b.takes.get(n) if b is not None else None
        chosen, clash = _three_way(mine, other, base, LockEntry.same_render)
        takes[n] = chosen
        if clash:
            conflicts.append(Conflict(name, o, t, take=n))
    pick, clash = _three_way(o.pick, t.pick, b.pick if b is not None else None, int.__eq__)
    if clash:
        conflicts.append(Conflict(name, o, t, picks=True))
    return ShotTakes(o.key, takes, pick), conflicts


def _three_way(
    mine: _T | None, other: _T | None, base: _T | None, same: Callable[[_T, _T], bool]
) -> tuple[_T, bool]:
    """Ours or theirs (whichever is there, or whichever changed from base; ours
    when both changed) and whether both changed differently."""
    if mine is None or other is None:
        chosen = mine if mine is not None else other
        assert chosen is not None
        return chosen, False
    if same(mine, other) or (base is not None and same(other, base)):
        return mine, False
    if base is not None and same(mine, base):
        return other, False
    return mine, True


def read_side(path: Path, side: str, lock_name: str) -> LockFile:
    """One side of a merge; a missing or empty file (no such lock on that side) has none."""
    try:
        text = read_lock_text(path)
    except LockError as e:
        raise LockError(f"cannot merge {lock_name}: the {side} side: {e}") from None
    if text is None:
        return LockFile()
    if not text.strip():
        return LockFile()
    try:
        return loads_lock_file(text, lock_name)
    except LockError as e:
        raise LockError(
            f"cannot merge {lock_name}: the {side} side is not a valid lock: {e}"
        ) from None
