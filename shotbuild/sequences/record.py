"""What was assembled where: `<out_dir>/.shotbuild-sequences.json`.

For each sequence: the inputs it was assembled from (each member's sha256 and
trims, the assembler's version) and the stat of the mp4 written, so an unchanged
rebuild costs a stat per file and touches nothing. It also remembers members'
sha256 by stat, so they are read again only when they change. It is derived
state, never in shots.lock; the file is read as untrusted (one bad field: the
record is ignored and the cuts are assembled again)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shotbuild import untrusted
from shotbuild.fs import atomic_write_text

RECORD_NAME = ".shotbuild-sequences.json"
RECORD_FORMAT = 1
MAX_RECORD_BYTES = 16 << 20
MAX_SIDE = 4096

Stat = tuple[int, int, int]  # size, mtime_ns, inode


@dataclass(frozen=True)
class Input:
    """One member as it entered a cut: the file's sha256 and the trims."""

    shot: str
    sha256: str
    start: float | None
    end: float | None

    def to_json(self) -> list[Any]:
        return [self.shot, self.sha256, self.start, self.end]


@dataclass(frozen=True)
class Assembled:
    """A cut on disk: what it was made from and the stat of its mp4."""

    assembler: str
    size: tuple[int, int] | None
    inputs: tuple[Input, ...]
    stat: Stat
    method: str  # remux or re-encode
    seconds: float
    spec: str | None = None  # the spec that wrote it: specs may share a build folder

    def to_json(self) -> dict[str, Any]:
        return {
            "assembler": self.assembler,
            "size": list(self.size) if self.size else None,
            "inputs": [i.to_json() for i in self.inputs],
            "stat": list(self.stat),
            "method": self.method,
            "seconds": self.seconds,
            "spec": self.spec,
        }


@dataclass
class Record:
    path: Path
    cuts: dict[str, Assembled] = field(default_factory=dict)
    hashes: dict[str, tuple[int, int, int, str]] = field(default_factory=dict)
    # cuts being written: their files are shotbuild's even if a crash came before
    # the cut was recorded
    pending: set[str] = field(default_factory=set)

    def owns(self, name: str) -> bool:
        return name in self.cuts or name in self.pending

    def save(self) -> None:
        doc = {
            "format": RECORD_FORMAT,
            "sequences": {name: cut.to_json() for name, cut in sorted(self.cuts.items())},
            "pending": sorted(self.pending),
            "hashes": {path: list(v) for path, v in sorted(self.hashes.items())},
        }
        atomic_write_text(self.path, json.dumps(doc, indent=1) + "\n")


def stat_of(path: Path) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def read(out_dir: Path) -> Record:
    """The record in `out_dir`; an empty one when it is missing or not valid."""
    path = out_dir / RECORD_NAME
    try:
        with path.open("rb") as f:
            data = f.read(MAX_RECORD_BYTES + 1)
        return _parse(path, untrusted.load_json(data, max_bytes=MAX_RECORD_BYTES))
    except (OSError, untrusted.BadValue, ValueError, TypeError, KeyError):
        return Record(path)


def _parse(path: Path, doc: Any) -> Record:
    doc = untrusted.obj(doc, "record")
    if doc.get("format") != RECORD_FORMAT:
        raise untrusted.BadValue("unknown record format")
    cuts = untrusted.obj(doc.get("sequences", {}), "sequences")
    hashes = untrusted.obj(doc.get("hashes", {}), "hashes")
    return Record(
        path,
        {untrusted.shot_name(name): _assembled(value) for name, value in cuts.items()},
        {untrusted.text(p, "path", limit=4096): _hash(v) for p, v in hashes.items()},
        {untrusted.shot_name(name) for name in _list(doc.get("pending", []), 10_000)},
    )


def _assembled(value: Any) -> Assembled:
    value = untrusted.obj(value, "sequence")
    size = value.get("size")
    return Assembled(
        assembler=untrusted.text(value["assembler"], "assembler", limit=40),
        size=None if size is None else _pair(size),
        inputs=tuple(_input(i) for i in _list(value["inputs"], 1000)),
        stat=_stat(value["stat"]),
        method=untrusted.text(value["method"], "method", limit=20),
        seconds=untrusted.seconds(value["seconds"]),
        spec=None
        if value.get("spec") is None
        else untrusted.text(value["spec"], "spec", limit=4096),
    )


def _list(value: Any, limit: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise untrusted.BadValue("not a list of sane length")
    return value


def _pair(value: Any) -> tuple[int, int]:
    width, height = _list(value, 2)
    return untrusted.count(width, "width", limit=MAX_SIDE), untrusted.count(
        height, "height", limit=MAX_SIDE
    )


def _stat(value: Any) -> Stat:
    size, mtime, inode = _list(value, 3)
    return (
        untrusted.count(size, "size"),
        untrusted.count(mtime, "mtime_ns", limit=1 << 64),
        untrusted.count(inode, "inode", limit=1 << 64),
    )


def _hash(value: Any) -> tuple[int, int, int, str]:
    items = _list(value, 4)
    size, mtime, inode = _stat(items[:3])
    return size, mtime, inode, untrusted.sha256(items[3])


def _input(value: Any) -> Input:
    shot, sha, start, end = _list(value, 4)
    return Input(
        untrusted.shot_name(shot),
        untrusted.sha256(sha),
        None if start is None else untrusted.seconds(start, "in"),
        None if end is None else untrusted.seconds(end, "out"),
    )
