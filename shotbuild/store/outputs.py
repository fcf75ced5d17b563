"""The manifest of outputs shotbuild owns in a build folder.

`<build_dir>/.shotbuild-outputs.json` records, for each file shotbuild wrote
there, its key, sha256 and stat (size, mtime_ns, inode). An output is "right"
when its stat still matches, so checking a build costs one stat per shot and
no reads; and only files listed here are ever replaced or removed."""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shotbuild.fs import atomic_write_text
from shotbuild.store.lock import LockEntry

MANIFEST_NAME = ".shotbuild-outputs.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Owned:
    shot: str
    backend: str
    key: str
    sha256: str
    size: int
    mtime_ns: int
    inode: int
    title: str | None = None
    callback_url: str | None = None
    # enough to write the shot's lock entry again from the output alone
    video_id: str | None = None
    duration: float | None = None
    origin: str | None = None
    built_at: str | None = None
    spec: str | None = None  # the spec that wrote it: specs may share a build folder

    def belongs_to(self, spec_path: Path) -> bool:
        return self.spec is None or self.spec == str(spec_path)

    def lock_entry(self) -> LockEntry | None:
        if self.video_id is None or self.origin is None or self.built_at is None:
            return None
        size, duration = self.size, float(self.duration or 0)
        return LockEntry(
            self.key, self.video_id, self.sha256, size, duration, self.origin, self.built_at
        )

    def matches(self, path: Path | str) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns, st.st_ino) == (self.size, self.mtime_ns, self.inode)


class Manifest:
    """Owned outputs by path relative to the build folder (e.g. preview/a.mp4)."""

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self.path = build_dir / MANIFEST_NAME
        self.entries: dict[str, Owned] = {}
        self.save_every = 0.0  # seconds between saves; 0: save on every change
        self._saved_at = 0.0
        self._dirty = False
        self._touched: set[str] = set()  # what this process changed (merged on save)
        self.entries = self._load()

    def _load(self) -> dict[str, Owned]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            return {rel: Owned(**raw) for rel, raw in doc.get("outputs", {}).items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError):
            # A damaged manifest only costs ownership knowledge: outputs are then
            # re-checked by content against the lock, never overwritten blindly.
            return {}

    def get(self, rel: str) -> Owned | None:
        return self.entries.get(rel)

    def record(self, rel: str, owned_without_stat: dict[str, Any]) -> Owned:
        st = os.stat(self.build_dir / rel)
        owned = Owned(
            **owned_without_stat, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino
        )
        self.put(rel, owned)
        return owned

    def put(self, rel: str, owned: Owned) -> None:
        self.entries[rel] = owned
        self._touched.add(rel)
        self.changed()

    def forget(self, rel: str) -> None:
        if self.entries.pop(rel, None) is not None:
            self._touched.add(rel)
            self.changed()

    def changed(self) -> None:
        """Save now, or within `save_every` seconds when batching (a build of many
        shots). An output written but not yet recorded is harmless: the next build
        finds it has the right bytes (by sha256) and records it then."""
        self._dirty = True
        if time.monotonic() - self._saved_at >= self.save_every:
            self.flush()

    def flush(self) -> None:
        if self._dirty:
            self.save()

    def save(self) -> None:
        """Apply this process's changes to the manifest as it is on disk now (another
        spec's build may share the folder), under a lock on the folder itself."""
        self._dirty = False
        self._saved_at = time.monotonic()
        if not self._touched:
            return
        self.build_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.build_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            merged = self._load()
            for rel in self._touched:
                if rel in self.entries:
                    merged[rel] = self.entries[rel]
                else:
                    merged.pop(rel, None)
            doc = {
                "format_version": MANIFEST_FORMAT,
                "outputs": {rel: asdict(merged[rel]) for rel in sorted(merged)},
            }
            atomic_write_text(self.path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
            self.entries = merged
            self._touched.clear()
        finally:
            os.close(fd)  # closing releases the lock
