"""The recorder: the one place where a finished render becomes permanent.

A render (paid, restored or local) is put in place as the shot's output and
recorded in the build folder's manifest, the cache (result and request), the
lock (remote backends) and the shared remote cache. The manifest and the lock
are written at most once a second while a build runs and once at its end
(`flush`). Job records go through here too, so the spec's list of jobs in flight
stays in step with them.

What must be on disk when: a job's intent (its key and Idempotency-Key) before its
create is sent, and its video_id as soon as the create answers, each in a commit
of its own (with the request of the intent), taking along whatever was staged
before. A finished render's cache records (result, request, paid-render record)
and its job's done record are staged: written with the next commit, and always
before the lock that names the render is written (`_write_lock`). A kill before
that commit loses only them: the job's video_id is on record, so the next build
polls and downloads the render again, never paying again."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shotbuild.build import crash
from shotbuild.build.options import ShotFailed
from shotbuild.build.shared import Shared
from shotbuild.errors import ShotbuildError
from shotbuild.plan import Removed, ShotItem, takes_keys
from shotbuild.spec.model import Spec
from shotbuild.store.cache import JOB_DONE, JOB_INTENT, JOB_SUBMITTED, Cache, JobRecord
from shotbuild.store.lock import LockEntry, LockFile, LockWriter, ShotTakes
from shotbuild.store.outputs import DamagedBlob, Manifest, OutputInTheWay
from shotbuild.store.records import (
    PaidRender,
    record_paid,
    take_numbers,
    takes_on_record,
    written_by,
)
from shotbuild.takes import take_key

if TYPE_CHECKING:
    import asyncio

COMMIT_WITHIN = 1.0  # seconds a staged record waits at most for a job's commit to take it
GROUP_WAIT = 0.003  # seconds a video_id's commit waits for other shots' records to take along


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


def _retrieved(group: asyncio.Future[None]) -> None:
    """A group commit's error is the waiting shots' own (none left: nothing to log)."""
    if not group.cancelled():
        group.exception()


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
        self._shots = dict(lock.shots)  # every take; the plan's copy stays as planned
        self.manifest = manifest
        self.cache = cache
        self.shared = shared
        self.lock_writer = LockWriter(spec.lock_path)
        self._flush_timer: asyncio.TimerHandle | None = None
        self._commit_timer: asyncio.TimerHandle | None = None
        self._group: asyncio.Future[None] | None = None  # the commit shots wait for
        self._awaited = set(new_takes)  # shots whose new take (reroll, force) is yet to land
        self._held: list[_HeldTake] = []  # new takes landed, kept out of the lock till all land
        self._group_timer: asyncio.TimerHandle | asyncio.Handle | None = None  # makes it
        self._group_due = 0.0  # when (the loop's clock)

    @property
    def lock(self) -> LockFile:
        """The lock as this build has it now, every take. A view of the recorder's own
        map of shots (one shot's update is one dict write, not a copy of every shot:
        a copy per take made a build quadratic); the writer encodes it when it writes,
        always right after the cache's commit, so what it names is on record."""
        return LockFile(self._shots)

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
            self._put_take(t.item, t.number, t.entry, pick=pick, alone=t.alone)
        if held:
            crash.crash_point("picks-placed")  # build/ shows the new picks; the lock not yet
            self.cache.commit()  # what the lock names is on record first
            self.lock_writer.write(self.lock)
            self.lock_writer.flush()  # at once, not paced: build/ already changed
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
        accepted = takes_keys(item, self.target.identity, shot)
        return dataclasses.replace(item, key=shot.key) if shot.key in accepted else item

    def _remember(self, item: ShotItem, number: int, entry: LockEntry) -> list[int]:
        """Stage into the cache, for one transaction: the result, its request and (a
        paid render) its record, kept for good whatever gc drops; committed before
        the lock that names it is written. Returns the take numbers of these inputs
        on record with this one (none for a local render)."""
        cache, key, request = self.cache, entry.key, item.request
        stored = cache.has_request(key, request)  # the job's create stored it
        render = None
        names = [f"result:{key}", f"request:{key}"]
        if self.target.locked:
            render = PaidRender.of(
                entry, inputs_key=item.key, take=number, shot=item.name, request=request
            )
            names += written_by(render)

        def write() -> None:
            cache.put_result(key, entry)
            if not stored:
                cache.put_request(key, request)
            if render is not None:
                record_paid(cache, render)

        taken = take_numbers(cache, item.key, known=number) if render else []
        cache.stage(write, names)
        crash.crash_point("records-staged")  # a render downloaded, its records not committed
        self._commit_soon()
        return taken

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
        self._put_take(item, number, entry, pick=pick, alone=alone)
        self._save_lock()

    def _put_take(
        self, item: ShotItem, number: int, entry: LockEntry, *, pick: bool, alone: bool
    ) -> None:
        shot = self.lock.get(item.name)
        if shot is None or shot.key != item.key:
            known = None if alone else takes_on_record(self.cache, item.key)
            takes = {n: r.lock_entry() for n, r in known.takes.items()} if known else {}
            shot = ShotTakes(item.key, {**takes, number: entry}, number)
        else:
            shot = shot.with_take(number, entry, pick=pick)  # the output is the pick
        self._shots[item.name] = shot

    def _save_lock(self) -> None:
        """Write the lock now, or within a second (one write for the shots that
        finish meanwhile: rewriting the whole lock per shot made a build quadratic)."""
        # what the lock names is on record first (the commit, when the write is due)
        self.lock_writer.write(self.lock, before=self.cache.commit)
        if not self.lock_writer.pending or self._flush_timer is not None:
            return
        crash.crash_point("lock-pending")  # renders staged or on record, not yet locked
        loop = self._loop()
        if loop is not None:  # outside the build's loop (settling): written by flush()
            self._flush_timer = loop.call_later(self.lock_writer.due_in(), self._timed_flush)

    def _commit_soon(self) -> None:
        """Commit what is staged within a second, if no job's commit takes it along
        first (the last renders of a build, local renders)."""
        if self._commit_timer is not None:
            return
        loop = self._loop()
        if loop is not None:
            self._commit_timer = loop.call_later(COMMIT_WITHIN, self._timed_commit)

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop | None:
        import asyncio  # here: a no-op build never gets this far, nor imports asyncio

        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def _timed_commit(self) -> None:
        """The timer's commit; one that fails (a full disk) stays staged, and the
        build's last `flush` says why."""
        self._commit_timer = None
        with contextlib.suppress(ShotbuildError, OSError):
            self.cache.commit()

    def _timed_flush(self) -> None:
        """The timer's write; one that fails (a full disk) stays pending, and the
        build's last `flush` says why."""
        self._flush_timer = None
        with contextlib.suppress(ShotbuildError, OSError):
            self.cache.commit()
            self.lock_writer.flush()

    def flush(self) -> None:
        """Write what is pending (the cache's staged records, the lock, the list of
        jobs in flight) now: at the end of a build, on Ctrl-C."""
        self.release()  # a take whose output is in the way: locked all the same, not picked
        for timer in (self._flush_timer, self._commit_timer):
            if timer is not None:
                timer.cancel()
        self._flush_timer = self._commit_timer = None
        self.cache.commit()
        self.lock_writer.flush()
        self.cache.flush_in_flight()

    async def keep_earlier(self, key: str, entry: LockEntry) -> None:
        """An earlier version's render: into the caches only, never build/ or the lock."""
        self.cache.stage(lambda: self.cache.put_result(key, entry), [f"result:{key}"])
        self._commit_soon()
        await self.shared.push(entry)

    async def intend(
        self,
        job: JobRecord,
        request: dict[str, object],
        renew: Callable[[JobRecord | None], JobRecord] | None = None,
    ) -> JobRecord:
        """A job's intent and its request, on disk before its create is sent, and the
        job listed in flight; the job as written. `renew` makes it from the key's job
        on record (None: none), read in the very transaction that writes the intent
        (under the index's write lock, with no read of its own before it: a read
        outside a transaction costs twice one inside), so its attempt and its
        Idempotency-Key follow the record as it is when the intent is written."""
        key = job.key
        written = [job]

        def write() -> None:
            if renew is not None:
                written[0] = renew(self.cache.stored_job(key))
            self.cache.put_request(key, request)
            self.cache.put_job(written[0])

        self.cache.stage(write, [f"request:{key}", f"job:{key}"])
        await self.committed()
        self.cache.track_job(self.spec.path, key, job.shot, live=True)
        return written[0]

    async def submitted(self, job: JobRecord) -> None:
        """A job's video_id, on disk the moment the create answers: this job goes on
        only once it is committed (within GROUP_WAIT: nothing waits on it but the
        job's first poll)."""
        self.cache.stage(lambda: self.cache.put_job(job), [f"job:{job.key}"])
        await self.committed(GROUP_WAIT)

    async def committed(self, wait: float = 0.0) -> None:
        """Commit what is staged, in one transaction with whatever the other shots
        stage meanwhile (one commit for them all, not one each: a commit is most of
        an index write's cost); return once it is made. The commit is made at the
        start of the loop's next turn (`wait` 0: an intent, which its create waits
        for), or within `wait` seconds, taking along the records of a few turns; a
        shot that asks for one sooner brings the group's commit forward."""
        import asyncio

        loop = asyncio.get_running_loop()
        due = loop.time() + wait
        if self._group is None:
            self._group = group = loop.create_future()
            group.add_done_callback(_retrieved)
        elif due >= self._group_due:
            await asyncio.shield(self._group)
            return
        if self._group_timer is not None:
            self._group_timer.cancel()
        self._group_due = due
        self._group_timer = (
            loop.call_later(wait, self._group_commit)
            if wait
            else loop.call_soon(self._group_commit)
        )
        await asyncio.shield(self._group)

    def _group_commit(self) -> None:
        group, self._group = self._group, None
        self._group_timer = None
        assert group is not None
        try:
            self.cache.commit()
        except Exception as e:  # each waiting shot fails with it
            group.set_exception(e)
        else:
            group.set_result(None)

    def journal(self, job: JobRecord) -> None:
        """Record a job, and keep the spec's list of jobs in flight in step with it. A
        done job's record is staged (with its render's records, written by the same
        commit) and it leaves the list once that commit is made; any other state is
        committed now."""
        if job.state == JOB_DONE:
            self.cache.stage(lambda: self.cache.put_job(job), [f"job:{job.key}"])
            self.cache.untrack_after_commit(self.spec.path, job.key)
            self._commit_soon()
            return
        with self.cache.writing():
            self.cache.put_job(job)
        live = job.state in (JOB_INTENT, JOB_SUBMITTED)
        self.cache.track_job(self.spec.path, job.key, job.shot, live=live)

    def remove(self, item: Removed) -> None:
        """A shot left the spec: its output (if ours) and its lock entry go."""
        rel = self.target.rel(item.name)
        owned = self.manifest.get(rel)
        if owned is not None and owned.belongs_to(self.spec.path):
            self.manifest.remove(rel)  # only if its bytes are still ours
        if self.target.locked and self.lock.get(item.name) is not None:
            del self._shots[item.name]
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
