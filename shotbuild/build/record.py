"""The recorder: the one place where a finished render becomes permanent.

A render (paid, restored or local) is put in place as the shot's output and
recorded in the build folder's manifest, the cache (result and request), the
lock (remote backends) and the shared remote cache. The manifest and the lock
are written at most once a second while a build runs and once at its end
(`flush`); the cache's records, written first, make that safe against a kill.
Job records go through here too, so the spec's list of jobs in flight stays in
step with them."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shotbuild.build import crash
from shotbuild.build.options import ShotFailed
from shotbuild.build.shared import Shared
from shotbuild.errors import ShotbuildError
from shotbuild.keys import accepted_keys
from shotbuild.plan import Removed, Settled, ShotItem
from shotbuild.spec.model import Spec
from shotbuild.store.cache import JOB_INTENT, JOB_SUBMITTED, Cache, JobRecord
from shotbuild.store.lock import LockEntry, LockFile, LockWriter, ShotTakes
from shotbuild.store.outputs import DamagedBlob, Manifest, OutputInTheWay
from shotbuild.store.records import PaidRender, record_paid, takes_on_record
from shotbuild.takes import take_key

if TYPE_CHECKING:
    import asyncio


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


@dataclass(frozen=True)
class _HeldTake:
    """A new take on record in the cache, waiting for its command's other new takes
    before it goes into the lock."""

    shown: ShotItem  # as recorded: its output goes in place by this item
    item: ShotItem  # keyed as the lock keys the shot's takes
    number: int
    entry: LockEntry
    pick: bool
    alone: bool


class Recorder:
    def __init__(
        self,
        spec: Spec,
        target: Target,
        lock: LockFile,
        manifest: Manifest,
        cache: Cache,
        shared: Shared,
        new_takes: frozenset[str] = frozenset(),
    ) -> None:
        self.spec = spec
        self.target = target
        self.lock = lock  # every take; the plan's copy stays as planned
        self.manifest = manifest
        self.cache = cache
        self.shared = shared
        self.lock_writer = LockWriter(spec.lock_path)
        self._flush_timer: asyncio.TimerHandle | None = None
        self._awaited = set(new_takes)  # shots whose new take (reroll, force) is yet to land
        self._held: list[_HeldTake] = []  # new takes landed, kept out of the lock till all land

    async def record(self, item: ShotItem, entry: LockEntry, *, share: bool = False) -> None:
        """Put a verified blob in place as the shot's output and record it everywhere;
        `share` also gives it to the shared remote cache. A reroll (item.take > 1)
        records it as that take, and as the output and pick only with --pick;
        otherwise it is the take of the lock it matches, else take 1. Another take
        `takes: N` asks for is the output and pick only while the lock has no take of
        the shot's inputs (take 1, when it lands, is the pick: it failed otherwise)."""
        keyed = self._as_locked(item)
        number = item.take if item.take != 1 or item.wanted else self._take_of(keyed, entry)
        entry = dataclasses.replace(entry, key=take_key(keyed.key, number))
        as_pick = item.as_pick or (item.wanted and self._first_of_inputs(keyed))
        held = self._holds(item)
        if as_pick and not held:
            self._place(item, entry)
        on_record = self._remember(keyed, number, entry)
        if self.target.locked:
            take = _HeldTake(item, keyed, number, entry, as_pick, on_record == [number])
            if held:
                self._hold(take)
            else:
                self._lock_take(keyed, number, entry, pick=as_pick, alone=take.alone)
        if share:
            await self.shared.push(entry)

    def _holds(self, item: ShotItem) -> bool:
        """Whether `item` is one of the command's new takes (a reroll's, `build
        --force`'s), which reach the output and the lock together, when the last of
        them lands (or at `flush`): a command killed in between leaves build/ and the
        lock without any of them, so running it again finds the same take numbers
        and restores them from the cache, where they are on record, instead of
        paying for a further take of the shots whose take had reached the lock."""
        new = item.take != 1 and not item.wanted
        return self.target.locked and new and item.name in self._awaited

    def _hold(self, take: _HeldTake) -> None:
        self._awaited.discard(take.item.name)
        self._held.append(take)
        if not self._awaited:
            refused = self.release()
            if refused:
                raise ShotFailed("; ".join(f"{name}: {why}" for name, why in refused))
        else:
            crash.crash_point("new-take-held")  # on record in the cache, held from the lock

    def release(self) -> list[tuple[str, str]]:
        """Put the new takes held so far in place (the picked ones) and in the lock, in
        one write: when the last lands, at the end of the shots' work (a shot that
        failed: its fellows' takes are kept), on Ctrl-C. A take whose output is in
        the way is locked all the same, not as the pick: returned, (shot, why)."""
        held, self._held = self._held, []
        refused: list[tuple[str, str]] = []
        for t in held:
            pick = t.pick
            if pick:
                try:
                    self._place(t.shown, t.entry)
                except ShotFailed as e:
                    pick = False
                    refused.append((t.item.name, str(e)))
            self.lock = self._with_take(t.item, t.number, t.entry, pick=pick, alone=t.alone)
        if held:
            self._save_lock()
        return refused

    def _place(self, item: ShotItem, entry: LockEntry) -> None:
        self._put_in_place(item, entry)
        self.manifest.record(self.target.rel(item.name), self._owned(item, entry))

    def _as_locked(self, item: ShotItem) -> ShotItem:
        """`item` keyed as the shot's takes are in the lock: under the lock's own key
        when that is one the shot may have had (adopted, `keys.accepted_keys`: an old
        loopback origin or type name), so restoring or adding a take of an adopted
        shot moves no key and drops none of its takes; else as it is."""
        shot = self.lock.get(item.name) if self.target.locked else None
        if shot is None or shot.key == item.key:
            return item
        origins = [e.origin for e in shot.takes.values()]
        accepted = accepted_keys(self.target.identity, item.request, item.shot.api_type, *origins)
        return dataclasses.replace(item, key=shot.key) if shot.key in accepted else item

    def _remember(self, item: ShotItem, number: int, entry: LockEntry) -> list[int]:
        """Into the cache, in one transaction: the result, its request and (a paid
        render) its record, kept for good whatever gc drops. This comes before the
        lock, whose writes are batched: a build killed before the lock is written
        finds the render here next time and locks it without a create. Returns the
        take numbers of these inputs on record (none for a local render)."""
        with self.cache.index.transact():
            self.cache.put_result(entry.key, entry)
            if self.cache.request(entry.key) != item.request:  # a job's create stored it
                self.cache.put_request(entry.key, item.request)
            if not self.target.locked:
                return []
            render = PaidRender.of(
                entry, inputs_key=item.key, take=number, shot=item.name, request=item.request
            )
            return record_paid(self.cache, render)

    def picked(self, name: str) -> LockEntry | None:
        """The shot's picked take as the shot's render (keyed by the shot's key)."""
        shot = self.lock.get(name)
        return shot.current if shot is not None else None

    def _take_of(self, item: ShotItem, entry: LockEntry) -> int:
        shot = self.lock.get(item.name)
        if shot is not None and shot.key == item.key:
            for number, known in shot.takes.items():
                if (known.video_id, known.sha256) == (entry.video_id, entry.sha256):
                    return number
        return 1

    def _first_of_inputs(self, item: ShotItem) -> bool:
        shot = self.lock.get(item.name)
        return self.target.locked and (shot is None or shot.key != item.key)

    def _lock_take(
        self, item: ShotItem, number: int, entry: LockEntry, *, pick: bool, alone: bool
    ) -> None:
        """Add the take to the shot's takes, never dropping the others; a shot
        whose inputs changed starts from their takes on record (going back to
        earlier inputs brings their takes back), unless this take is `alone` on
        record (a first build: nothing to look up)."""
        self.lock = self._with_take(item, number, entry, pick=pick, alone=alone)
        self._save_lock()

    def _with_take(
        self, item: ShotItem, number: int, entry: LockEntry, *, pick: bool, alone: bool
    ) -> LockFile:
        shot = self.lock.get(item.name)
        if shot is None or shot.key != item.key:
            known = None if alone else takes_on_record(self.cache, item.key)
            takes = {n: r.lock_entry() for n, r in known.takes.items()} if known else {}
            shot = ShotTakes(item.key, {**takes, number: entry}, number)
        else:
            shot = shot.with_take(number, entry, pick=pick)  # the output is the pick
        return self.lock.with_shot(item.name, shot)

    def _save_lock(self) -> None:
        """Write the lock now, or within a second (one write for the shots that
        finish meanwhile: rewriting the whole lock per shot made a build quadratic)."""
        self.lock_writer.write(self.lock)
        if not self.lock_writer.pending or self._flush_timer is not None:
            return
        crash.crash_point("lock-pending")  # renders on record in the cache, not yet locked
        import asyncio  # here: a no-op build never gets this far, nor imports asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside the build's loop (settling): written by flush()
        self._flush_timer = loop.call_later(self.lock_writer.due_in(), self._timed_flush)

    def _timed_flush(self) -> None:
        """The timer's write; one that fails (a full disk) stays pending, and the
        build's last `flush` says why."""
        self._flush_timer = None
        with contextlib.suppress(ShotbuildError, OSError):
            self.lock_writer.flush()

    def flush(self) -> None:
        """Write what is pending (the lock, the list of jobs in flight) now: at the
        end of a build, on Ctrl-C."""
        self.release()  # a take whose output is in the way: locked all the same, not picked
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self.lock_writer.flush()
        self.cache.flush_in_flight()

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
        if self.target.locked and self.lock.get(item.name) is not None:
            self.lock = self.lock.without(item.name)
            self._save_lock()

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
            "key": item.key,  # the shot's key: the output is the shot's, whichever take
            "sha256": entry.sha256,
            "title": shot.title,
            "callback_url": shot.callback_url,
            "video_id": entry.video_id,
            "duration": entry.duration,
            "origin": entry.origin,
            "built_at": entry.built_at,
            "spec": str(self.spec.path),
        }
