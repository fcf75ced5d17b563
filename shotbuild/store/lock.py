"""shots.lock: one entry per rendered shot, committed beside the spec.

JSON with sorted keys, two-space indent and a trailing newline, so each shot is
one block and diffs stay readable. Written atomically after every finished shot."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shotbuild.errors import ShotbuildError
from shotbuild.fs import atomic_write_text

LOCK_FORMAT_VERSION = 1
_CONFLICT_MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ", "||||||| ")


class LockError(ShotbuildError):
    """The lock file cannot be read."""


@dataclass(frozen=True)
class LockEntry:
    key: str  # the shot's input key (sha256 hex)
    video_id: str
    sha256: str  # of the mp4 bytes
    size: int  # bytes
    duration: float  # seconds of video
    origin: str  # the API origin that rendered it, e.g. https://api.heygen.com
    built_at: str  # UTC, ISO 8601 with a Z

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> LockEntry:
        """The entry `to_json` made; KeyError, TypeError or ValueError when damaged."""
        return cls(
            key=_str(raw["key"]),
            video_id=_str(raw["video_id"]),
            sha256=_str(raw["sha256"]),
            size=int(raw["size"]),
            duration=float(raw["duration"]),
            origin=_str(raw["origin"]),
            built_at=_str(raw["built_at"]),
        )


def dumps_lock(entries: Mapping[str, LockEntry]) -> str:
    doc = {
        "format_version": LOCK_FORMAT_VERSION,
        "shots": {name: entries[name].to_json() for name in sorted(entries)},
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads_lock(text: str, where: str = "shots.lock") -> dict[str, LockEntry]:
    """Parse a lock; every problem is a LockError naming `where` and how to recover."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(_CONFLICT_MARKERS):
            raise LockError(
                f"{where}:{number}:1: git conflict markers; take one side"
                f" (`git checkout --theirs {where}`) and run `shotbuild build` to restore"
                " the rest; set up the merge driver (README, 'Working in a team') so git"
                " merges locks shot by shot next time"
            )
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise LockError(
            f"{where}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}); restore it with"
            f" `git checkout -- {where}` or delete it (outputs are then re-fetched or re-rendered)"
        ) from None
    return _entries(doc, where)


def _entries(doc: Any, where: str) -> dict[str, LockEntry]:
    hint = f"; restore it with `git checkout -- {where}`"
    if not isinstance(doc, dict) or not isinstance(doc.get("shots"), dict):
        raise LockError(f"{where}: not a shotbuild lock (no 'shots' object){hint}")
    version = doc.get("format_version")
    if version != LOCK_FORMAT_VERSION:
        raise LockError(
            f"{where}: lock format_version {version!r} is not {LOCK_FORMAT_VERSION};"
            " upgrade shotbuild or restore the lock from git"
        )
    entries: dict[str, LockEntry] = {}
    for name, raw in doc["shots"].items():
        try:
            entries[name] = LockEntry.from_json(raw)
        except (KeyError, TypeError, ValueError) as e:
            raise LockError(f"{where}: entry for shot {name!r} is damaged ({e!r}){hint}") from None
    return entries


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def read_lock(path: Path) -> dict[str, LockEntry]:
    """The lock's entries by shot name; an absent lock file has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise LockError(f"{path}: cannot be read ({e})") from None
    return loads_lock(text, str(path))


def write_lock(path: Path, entries: Mapping[str, LockEntry]) -> None:
    """Replace the lock in one step: a reader sees the old file or the new one."""
    atomic_write_text(path, dumps_lock(entries))
