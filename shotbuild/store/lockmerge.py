"""Three-way merging of shots.lock, shot by shot and take by take.

A shot is merged like a line in a three-way merge of text:

- the same on both sides (unchanged, added alike, removed on both): keep it;
- changed, added or removed on one side only: take that side;
- changed on both sides with the same inputs (each side rerolled or picked):
  the union of the takes, since a take is a paid render and a merge never loses
  one either side had; the pick merges three-way too, and two different new
  picks are a conflict that keeps ours' pick and is resolved with
  `shotbuild pick SHOT N`;
- changed on both sides with different inputs, or removed on one side and
  changed on the other: a conflict that keeps ours' shot (or the one shot there
  is: its takes are paid renders).

The merged lock is always a valid lock (no conflict markers); each conflict is a
value that says what was kept and what to do. Two takes are the same when they
are the same render (key, video_id and sha256)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shotbuild.store.lock import (
    LockEntry,
    LockError,
    LockFile,
    ShotTakes,
    loads_lock_file,
    read_lock_text,
)


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
            f" kept ours; if the merged spec matches theirs, copy its entry from"
            f" `git show MERGE_HEAD:{lock_name}`"
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
    if _same(o, t) or _same(t, b):
        return o, []
    if _same(o, b):
        return t, []
    if o is not None and t is not None and o.key == t.key:
        return _union(name, b if b is not None and b.key == o.key else None, o, t)
    return (o if o is not None else t), [Conflict(name, o, t)]


def _union(
    name: str, b: ShotTakes | None, o: ShotTakes, t: ShotTakes
) -> tuple[ShotTakes, list[Conflict]]:
    """Both sides changed the takes of the same inputs: keep every take of both."""
    takes = dict(t.takes) | dict(o.takes)  # ours wins a take number both have
    conflicts = [
        Conflict(name, o, t, take=n)
        for n in sorted(o.takes.keys() & t.takes.keys())
        if not o.takes[n].same_render(t.takes[n])
    ]
    base_pick = b.pick if b is not None else None
    if o.pick == t.pick or t.pick == base_pick:
        pick = o.pick
    elif o.pick == base_pick:
        pick = t.pick
    else:
        pick = o.pick
        conflicts.append(Conflict(name, o, t, picks=True))
    return ShotTakes(o.key, takes, pick), conflicts


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
