"""The planner: spec + cache + lock + build folder -> what a build would do, and why.

Pure and offline: no network, no writes (except the stat cache of local files).
Each shot gets one status and a reason, so "why does this rebuild?" always has
an answer."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shotbuild.backends.base import Backend
from shotbuild.keys import Request, StatCachedHasher, cosmetic_of, diff_requests, shot_keys
from shotbuild.spec.model import DEFAULT_DURATION, Shot, Spec
from shotbuild.store.cache import JOB_DONE, JOB_FAILED, JOB_SUBMITTED, Cache, JobRecord
from shotbuild.store.lock import LockEntry, read_lock
from shotbuild.store.outputs import Manifest, Owned

PLAN_FORMAT_VERSION = 1

NEW = "new"
CHANGED = "changed"
UP_TO_DATE = "up to date"
COSMETIC = "cosmetic change"
RESTORE = "restore"
IN_FLIGHT = "in flight"
FAILED = "failed last time"
REMOVED = "removed"
ORPHAN = "in flight (earlier version)"  # a job of a shot edited since: finished into the cache

RENDERS = (NEW, CHANGED, FAILED)  # statuses that pay for a render
PENDING = (*RENDERS, RESTORE, IN_FLIGHT, REMOVED)

AUTO_DURATION_MAX = 15  # auto_duration is counted at its most: plans never under-promise


@dataclass(frozen=True)
class PlanItem:
    name: str
    status: str
    reason: str
    output: Path
    key: str | None = None
    request: Request | None = None
    fields: tuple[str, ...] = ()
    seconds: float = 0.0  # seconds of video a build would pay for
    result: LockEntry | None = None  # the render to restore (RESTORE)
    source: str | None = None  # RESTORE: "cache" (a local blob) or "lock" (download again)
    job: JobRecord | None = None
    shot: Shot | None = field(default=None, repr=False)
    forced: bool = False  # --force: render again whatever the records say

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "output": str(self.output),
            "key": self.key,
            "seconds": self.seconds,
        }
        if self.fields:
            doc["fields"] = list(self.fields)
        if self.job and self.job.video_id:
            doc["video_id"] = self.job.video_id
        if self.source:
            doc["source"] = self.source
        return doc


@dataclass(frozen=True)
class Plan:
    spec: Spec
    backend: str
    items: tuple[PlanItem, ...]
    lock: Mapping[str, LockEntry]
    manifest: Manifest = field(repr=False)
    # jobs this spec submitted for keys no shot has now: not work to pay for, but a
    # build finishes them into the cache (not build/, not the lock)
    orphans: tuple[PlanItem, ...] = ()
    settled: tuple[str, ...] = ()  # keys listed in flight that need nothing more

    @property
    def seconds(self) -> float:
        return sum(item.seconds for item in self.items)

    @property
    def pending(self) -> bool:
        return any(item.status in PENDING for item in self.items)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.status] = out.get(item.status, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "spec": str(self.spec.path),
            "backend": self.backend,
            "seconds": self.seconds,
            "pending": self.pending,
            "counts": self.counts(),
            "shots": [item.to_json() for item in self.items],
            "orphans": [item.to_json() for item in self.orphans],
        }


def output_rel(backend: Backend, name: str) -> str:
    return f"{backend.subdir}/{name}.mp4" if backend.subdir else f"{name}.mp4"


def build_dir_of(spec: Spec, out: Path | None = None) -> Path:
    return out.resolve() if out is not None else spec.build_dir


def seconds_of(shot: Shot, auto: float = AUTO_DURATION_MAX) -> float:
    """Seconds of video a shot renders; `auto` for auto_duration (HeyGen's most, or
    what a local backend renders)."""
    if shot.auto_duration or shot.duration is None:
        return float(auto)
    return float(shot.duration)


def make_plan(
    spec: Spec,
    backend: Backend,
    cache: Cache,
    *,
    out: Path | None = None,
    force: Collection[str] = (),
) -> Plan:
    build_dir = build_dir_of(spec, out)
    lock = read_lock(spec.lock_path) if backend.uses_lock else {}
    manifest = Manifest(build_dir)
    hasher = StatCachedHasher(cache.stat_load, cache.stat_save, root=spec.root)
    keys = shot_keys(spec, backend.identity, hasher)
    planner = _Planner(backend, cache, lock, manifest, spec.path)
    items = [planner.item(shot, *keys[shot.name], forced=shot.name in force) for shot in spec.shots]
    items += planner.removed({shot.name for shot in spec.shots})
    if not backend.uses_lock:
        return Plan(spec, backend.name, tuple(items), lock, manifest)
    current = {key for key, _ in keys.values()}
    orphans, settled = planner.orphans(cache.in_flight(spec.path), current)
    return Plan(spec, backend.name, tuple(items), lock, manifest, orphans, settled)


@dataclass
class _Planner:
    backend: Backend
    cache: Cache
    lock: Mapping[str, LockEntry]
    manifest: Manifest
    spec_path: Path

    def seconds(self, shot: Shot) -> float:
        return seconds_of(shot, AUTO_DURATION_MAX if self.backend.uses_lock else DEFAULT_DURATION)

    def item(self, shot: Shot, key: str, request: Request, *, forced: bool) -> PlanItem:
        rel = output_rel(self.backend, shot.name)
        where = f"{self.manifest.build_dir}{os.sep}{rel}"  # one stat, no path parsing
        path = Path(where)
        base: dict[str, Any] = {
            "name": shot.name,
            "output": path,
            "key": key,
            "request": request,
            "shot": shot,
        }
        owned = self.manifest.get(rel)
        if forced:
            seconds = self.seconds(shot)
            return PlanItem(status=CHANGED, reason="forced", seconds=seconds, forced=True, **base)
        entry = self.lock.get(shot.name)
        result = entry if entry is not None and entry.key == key else None
        in_place = owned is not None and owned.key == key and owned.matches(where)
        if (
            owned is not None
            and in_place
            and (not self.backend.uses_lock or (result and result.sha256 == owned.sha256))
        ):
            return self._current(shot, owned, base)
        if result is None and in_place and owned is not None:
            result = owned.lock_entry()  # the lock lost it, the output still says what it is
        if result is None:
            result = self.cache.result(key)
        if result is not None:
            return self._restore(result, owned, path, base, in_place=in_place)
        job = self.cache.job(key) if self.backend.uses_lock else None
        if job is not None and job.state != JOB_DONE:
            return self._from_job(shot, job, base)
        return self._new_or_changed(shot, entry, owned, request, base)

    def _from_job(self, shot: Shot, job: JobRecord, base: dict[str, Any]) -> PlanItem:
        if job.state != JOB_FAILED:
            reason = (
                f"submitted as {job.video_id}"
                if job.video_id
                else "a create may have been sent, no answer recorded: sent again with the"
                " same Idempotency-Key (no second job)"
            )
            return PlanItem(status=IN_FLIGHT, reason=reason, job=job, **base)
        why = ": ".join(x for x in (job.failure_code, job.failure_message) if x)
        return PlanItem(
            status=FAILED,
            reason=f"render failed ({why or 'no reason given'}): submit again",
            seconds=self.seconds(shot),
            job=job,
            **base,
        )

    def _new_or_changed(
        self,
        shot: Shot,
        entry: LockEntry | None,
        owned: Owned | None,
        request: Request,
        base: dict[str, Any],
    ) -> PlanItem:
        previous = entry.key if entry is not None else (owned.key if owned else None)
        if previous is None:
            return PlanItem(status=NEW, reason="never built", seconds=self.seconds(shot), **base)
        old = self.cache.request(previous)
        fields = tuple(diff_requests(old, request)) if old is not None else ()
        if fields:
            reason = f"{', '.join(fields)} changed"
        elif entry is not None and entry.origin != self.backend.identity:
            reason = f"rendered by {entry.origin}, building for {self.backend.identity}"
        else:
            reason = "inputs changed"
        return PlanItem(
            status=CHANGED, reason=reason, fields=fields, seconds=self.seconds(shot), **base
        )

    def _current(self, shot: Shot, owned: Owned, base: dict[str, Any]) -> PlanItem:
        cosmetic = cosmetic_of(shot)
        recorded = {"title": owned.title, "callback_url": owned.callback_url}
        changed = tuple(k for k in sorted(cosmetic) if cosmetic[k] != recorded[k])
        if changed:
            reason = f"{', '.join(changed)} changed: no render"
            return PlanItem(status=COSMETIC, reason=reason, fields=changed, **base)
        return PlanItem(status=UP_TO_DATE, reason="output matches its key", **base)

    def _restore(
        self,
        result: LockEntry,
        owned: Owned | None,
        path: Path,
        base: dict[str, Any],
        *,
        in_place: bool,
    ) -> PlanItem:
        if in_place and owned is not None and owned.sha256 == result.sha256:
            return PlanItem(
                status=RESTORE,
                reason="lock entry missing: recorded again",
                result=result,
                source="output",
                **base,
            )
        if not path.exists():
            why = "output missing"
        elif owned is None:
            why = "output not written by shotbuild"
        else:
            why = "output differs from its render"
        if self.cache.has_blob(result.sha256, result.size):
            source, how = "cache", "copy from the local cache"
        elif self.backend.uses_lock:
            source, how = "lock", f"download {result.video_id} again (no render)"
        else:
            return PlanItem(
                status=NEW,
                reason=f"{why}; its render left the cache",
                seconds=self.seconds(base["shot"]),
                **base,
            )
        return PlanItem(
            status=RESTORE, reason=f"{why}: {how}", result=result, source=source, **base
        )

    def orphans(
        self, tracked: Mapping[str, str], current: set[str]
    ) -> tuple[tuple[PlanItem, ...], tuple[str, ...]]:
        """Jobs the spec submitted whose key no shot has now (edited while they
        rendered), and the listed keys that need nothing more (finished, failed, or a
        create with no video_id: sending it again could start a job nobody wants)."""
        found: list[PlanItem] = []
        settled: list[str] = []
        for key, name in sorted(tracked.items(), key=lambda kv: (kv[1], kv[0])):
            if key in current:
                continue
            job = self.cache.job(key)
            if job is None or job.state != JOB_SUBMITTED or job.video_id is None:
                settled.append(key)
            elif job.origin == self.backend.identity:  # another API's jobs wait for it
                path = self.manifest.build_dir / output_rel(self.backend, name)
                why = f"submitted as {job.video_id}"
                found.append(PlanItem(name, ORPHAN, why, path, key=key, job=job))
        return tuple(found), tuple(settled)

    def removed(self, names: set[str]) -> list[PlanItem]:
        gone: dict[str, PlanItem] = {}
        for name in sorted(self.lock):
            if name not in names:
                path = self.manifest.build_dir / output_rel(self.backend, name)
                gone[name] = PlanItem(name, REMOVED, "left the spec: lock entry dropped", path)
        for rel, owned in sorted(self.manifest.entries.items()):
            mine = owned.backend == self.backend.name and owned.belongs_to(self.spec_path)
            if mine and owned.shot not in names:
                path = self.manifest.build_dir / rel
                why = "left the spec: output removed"
                gone[owned.shot] = PlanItem(owned.shot, REMOVED, why, path)
        return [gone[name] for name in sorted(gone)]
