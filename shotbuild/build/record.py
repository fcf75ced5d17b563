"""The recorder: the one place where a finished render becomes permanent.

A render (paid, restored or local) is put in place as the shot's output and
recorded in the build folder's manifest, the cache (result and request), the
lock (remote backends) and the shared remote cache. Job records go through here
too, so the spec's list of jobs in flight stays in step with them."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from shotbuild.build.options import ShotFailed
from shotbuild.build.shared import Shared
from shotbuild.plan import Removed, Settled, ShotItem
from shotbuild.spec.model import Spec
from shotbuild.store.cache import JOB_INTENT, JOB_SUBMITTED, Cache, JobRecord
from shotbuild.store.lock import LockEntry, write_lock
from shotbuild.store.outputs import DamagedBlob, Manifest, OutputInTheWay


@dataclass(frozen=True)
class Target:
    """Where a backend's renders go: its name and identity, its outputs' folder, and
    whether they are paid jobs recorded in shots.lock."""

    name: str
    identity: str
    subdir: str
    locked: bool

    def rel(self, shot: str) -> str:
        return f"{self.subdir}/{shot}.mp4" if self.subdir else f"{shot}.mp4"


def entry_of(
    key: str, video_id: str, sha: str, size: int, seconds: float, origin: str
) -> LockEntry:
    built_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return LockEntry(key, video_id, sha, size, seconds, origin, built_at)


class Recorder:
    def __init__(
        self,
        spec: Spec,
        target: Target,
        lock: dict[str, LockEntry],
        manifest: Manifest,
        cache: Cache,
        shared: Shared,
    ) -> None:
        self.spec = spec
        self.target = target
        self.lock = lock  # the executor's own copy: the plan's stays as planned
        self.manifest = manifest
        self.cache = cache
        self.shared = shared

    async def record(self, item: ShotItem, entry: LockEntry, *, share: bool = False) -> None:
        """Put a verified blob in place as the shot's output and record it everywhere;
        `share` also gives it to the shared remote cache."""
        self._put_in_place(item, entry)
        self.manifest.record(self.target.rel(item.name), self._owned(item, entry))
        self.cache.put_result(entry.key, entry)
        self.cache.put_request(entry.key, item.request)
        if self.target.locked:
            self.lock[item.name] = entry
            write_lock(self.spec.lock_path, self.lock)
        if share:
            await self.shared.push(entry)

    async def keep_earlier(self, key: str, entry: LockEntry) -> None:
        """An earlier version's render: into the caches only, never build/ or the lock."""
        self.cache.put_result(key, entry)
        await self.shared.push(entry)

    def journal(self, job: JobRecord) -> None:
        """Record a job, and keep the spec's list of jobs in flight in step with it."""
        self.cache.put_job(job)
        live = job.state in (JOB_INTENT, JOB_SUBMITTED)
        self.cache.track_job(self.spec.path, job.key, job.shot, live=live)

    def cosmetic(self, item: Settled) -> None:
        """Only the cosmetic fields changed: record them, render nothing."""
        rel = self.target.rel(item.name)
        owned = self.manifest.get(rel)
        if owned is not None:
            shot = item.shot
            changed = dataclasses.replace(owned, title=shot.title, callback_url=shot.callback_url)
            self.manifest.put(rel, changed)

    def remove(self, item: Removed) -> None:
        """A shot left the spec: its output (if ours) and its lock entry go."""
        rel = self.target.rel(item.name)
        owned = self.manifest.get(rel)
        if owned is not None and owned.belongs_to(self.spec.path):
            self.manifest.remove(rel)  # only if its bytes are still ours
        if self.target.locked and self.lock.pop(item.name, None) is not None:
            write_lock(self.spec.lock_path, self.lock)

    def _put_in_place(self, item: ShotItem, entry: LockEntry) -> None:
        """A file not ours is left alone; the blob is re-hashed as it is copied."""
        rel = self.target.rel(item.name)
        try:
            self.manifest.place(rel, self.cache.blob_path(entry.sha256), entry.sha256)
        except (OutputInTheWay, DamagedBlob) as e:
            raise ShotFailed(str(e)) from None

    def _owned(self, item: ShotItem, entry: LockEntry) -> dict[str, object]:
        shot = item.shot
        return {
            "shot": item.name,
            "backend": self.target.name,
            "key": entry.key,
            "sha256": entry.sha256,
            "title": shot.title,
            "callback_url": shot.callback_url,
            "video_id": entry.video_id,
            "duration": entry.duration,
            "origin": entry.origin,
            "built_at": entry.built_at,
            "spec": str(self.spec.path),
        }
