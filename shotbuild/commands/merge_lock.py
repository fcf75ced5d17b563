"""`shotbuild merge-lock BASE OURS THEIRS`: a git merge driver for shots.lock.

Git runs it as ``shotbuild merge-lock %O %A %B`` and takes the file left at OURS
(%A) as the result: exit 0 for a clean merge, non-zero for a conflict. Shots are
merged one by one, like three-way merging of lines:

- the same on both sides (unchanged, added alike, removed on both): keep it;
- changed, added or removed on one side only: take that side;
- changed differently on both sides, or removed on one and changed on the other:
  a conflict. The lock written to OURS stays a valid lock (no conflict markers):
  ours' entry (or the one entry there is, since a lock entry is a paid render
  and must not be dropped), one line on stderr per conflicted shot naming it
  and both renders, and exit 1; git marks the file conflicted and the user
  checks the merged spec and runs `git add`.

Two entries are the same render when key, video_id and sha256 agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from shotbuild.errors import EXIT_FAILED, EXIT_OK
from shotbuild.store.lock import LockEntry, LockError, loads_lock, write_lock


@dataclass(frozen=True)
class Conflict:
    shot: str
    ours: LockEntry | None
    theirs: LockEntry | None

    def describe(self, lock_name: str) -> str:
        o, t = self.ours, self.theirs
        if o is not None and t is not None and o.key == t.key:
            what = (
                f"both sides rendered the same inputs (key {o.key[:12]}) as different videos"
                f" (ours {o.video_id}, theirs {t.video_id}); kept ours, an equally valid render"
            )
        elif o is None or t is None:
            gone, kept, entry = ("ours", "theirs", t) if o is None else ("theirs", "ours", o)
            assert entry is not None
            what = (
                f"{gone} removed it, {kept} changed it ({_render(entry)}); kept {kept}'"
                " entry (a build drops it if the shot is gone)"
            )
        else:
            what = (
                f"changed on both sides (ours: {_render(o)}; theirs: {_render(t)}); kept ours;"
                f" if the merged spec matches theirs, copy its entry from"
                f" `git show MERGE_HEAD:{lock_name}`"
            )
        return f"{lock_name}: shot {self.shot!r}: {what}; then `git add {lock_name}`"


def _render(entry: LockEntry) -> str:
    return f"key {entry.key[:12]} video {entry.video_id}"


def _same(a: LockEntry | None, b: LockEntry | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.key, a.video_id, a.sha256) == (b.key, b.video_id, b.sha256)


def merge_locks(
    base: dict[str, LockEntry], ours: dict[str, LockEntry], theirs: dict[str, LockEntry]
) -> tuple[dict[str, LockEntry], list[Conflict]]:
    """The merged entries (ours' side of each conflict) and the conflicts, by shot name."""
    merged: dict[str, LockEntry] = {}
    conflicts: list[Conflict] = []
    for shot in sorted(base.keys() | ours.keys() | theirs.keys()):
        b, o, t = base.get(shot), ours.get(shot), theirs.get(shot)
        if _same(o, t) or _same(t, b):
            chosen = o
        elif _same(o, b):
            chosen = t
        else:
            conflicts.append(Conflict(shot, o, t))
            chosen = o if o is not None else t
        if chosen is not None:
            merged[shot] = chosen
    return merged, conflicts


def _read(path: Path, side: str, lock_name: str) -> dict[str, LockEntry]:
    """One side's entries; a missing or empty file (no such lock on that side) has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise LockError(f"cannot merge {lock_name}: the {side} side cannot be read ({e})") from None
    if not text.strip():
        return {}
    try:
        return loads_lock(text, lock_name)
    except LockError as e:
        raise LockError(
            f"cannot merge {lock_name}: the {side} side is not a valid lock: {e}"
        ) from None


def merge_lock(base: Path, ours: Path, theirs: Path, lock_name: str = "shots.lock") -> int:
    """Merge THEIRS into OURS against BASE, writing OURS; 1 when shots conflict."""
    merged, conflicts = merge_locks(
        _read(base, "base", lock_name),
        _read(ours, "ours", lock_name),
        _read(theirs, "theirs", lock_name),
    )
    write_lock(ours, merged)
    for conflict in conflicts:
        click.echo(conflict.describe(lock_name), err=True)
    return EXIT_FAILED if conflicts else EXIT_OK


_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("merge-lock")
@click.argument("base", type=_FILE)
@click.argument("ours", type=_FILE)
@click.argument("theirs", type=_FILE)
@click.argument("path", required=False, default="shots.lock")
def cli(base: Path, ours: Path, theirs: Path, path: str) -> int:
    """Merge shots.lock shot by shot: a git merge driver.

    Git calls it with %O %A %B (base, ours, theirs) and reads the result from OURS;
    give %P as PATH to name the lock in messages. Set it up once per clone:

    \b
      git config merge.shotbuild-lock.driver 'shotbuild merge-lock %O %A %B'
      echo 'shots.lock merge=shotbuild-lock' >> .gitattributes

    Exit 0: merged cleanly. Exit 1: shots conflict (each named on stderr; OURS
    is still a valid lock, keeping one side's entry for each) or a side is not a
    valid lock.
    """
    return merge_lock(base, ours, theirs, path)
