"""The executor: take a plan and make build/ and shots.lock match the spec.

For each shot, in order: its output is already right -> a local cache blob ->
the shared remote cache -> the lock entry (a fresh video_url for its video_id,
downloaded and verified) -> submit. A locked render the API no longer has is
rendered again only with `rerender_missing` (the new video is not the approved one).
A create is preceded by its stored intent (key + Idempotency-Key) and its video_id
is stored the moment it arrives, so a killed build resumes its jobs and never pays
twice for a key. Nothing here knows about click."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from shotbuild.backends.base import (
    Backend,
    CreateRejected,
    DownloadBrokeOff,
    JobGone,
    LinkExpiredError,
    LocalBackend,
    RateLimitedError,
)
from shotbuild.errors import ShotbuildError, UsageError
from shotbuild.keys import sha256_file
from shotbuild.plan import (
    CHANGED,
    COSMETIC,
    IN_FLIGHT,
    REMOVED,
    RENDERS,
    RESTORE,
    UP_TO_DATE,
    Plan,
    PlanItem,
    make_plan,
    output_rel,
    seconds_of,
)
from shotbuild.polling import next_delay
from shotbuild.progress import (
    DONE,
    DOWNLOADING,
    FAILED,
    QUEUED,
    RENDERING,
    RESTORED,
    SUBMITTED,
    UPLOADING,
    NullReporter,
    Reporter,
)
from shotbuild.progress import REMOVED as SHOT_REMOVED
from shotbuild.spec.model import DEFAULT_DURATION, Spec
from shotbuild.store.cache import (
    JOB_DONE,
    JOB_FAILED,
    JOB_INTENT,
    JOB_SUBMITTED,
    Cache,
    JobRecord,
    copy_atomic,
)
from shotbuild.store.lock import LockEntry, write_lock
from shotbuild.store.outputs import Manifest

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from shotbuild.store.remote import RemoteCache

POLL_FIRST = 2.0
POLL_MAX = 30.0
CREATE_ATTEMPTS = 8
RETRY_AFTER_MAX = 120.0  # a longer Retry-After on a create is cut to this
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_RETRY_PAUSE = 1.0  # seconds before a broken-off download starts again
CRASH_ENV = "SHOTBUILD_TEST_CRASH_AT"  # tests only: kill -9 this process at a named point

Sleep = Callable[[float], Awaitable[None]]


class ShotFailed(ShotbuildError):
    """One shot could not be built; the message says why and what happens next."""


@dataclass(frozen=True)
class BuildOptions:
    jobs: int = 4
    keep_going: bool = False
    only: tuple[str, ...] = ()
    force: tuple[str, ...] = ()
    dry_run: bool = False
    max_seconds: float | None = None
    timeout: float = 30 * 60.0
    out: Path | None = None
    lock_timeout: float = 5.0
    rerender_missing: bool = False  # a locked render gone from the API may be rendered again


@dataclass
class BuildResult:
    plan: Plan
    paid: bool  # the backend bills renders
    built: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)  # earlier versions finished into the cache
    seconds: float = 0.0  # seconds of video rendered by this build
    dry_run: list[tuple[str, str]] = field(default_factory=list)  # (name, what it would do)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "spec": str(self.plan.spec.path),
            "backend": self.plan.backend,
            "built": self.built,
            "restored": self.restored,
            "up_to_date": self.up_to_date,
            "failed": [{"name": name, "message": message} for name, message in self.failed],
            "removed": self.removed,
            "not_started": self.skipped,
            "earlier_versions_cached": self.cached,
            "seconds": self.seconds,
            "paid": self.paid,
            "dry_run": [{"name": name, "would": what} for name, what in self.dry_run],
        }


def build(
    spec: Spec,
    backend: Backend,
    options: BuildOptions = BuildOptions(),
    *,
    cache: Cache | None = None,
    reporter: Reporter | None = None,
    sleep: Sleep | None = None,
    clock: Callable[[], float] = time.monotonic,
    remote: RemoteCache | None = None,
) -> BuildResult:
    """Build a spec: hold its build lock, plan, then execute (or only say, --dry-run).
    `remote` (a shared RemoteCache) is asked before anything is paid for, and
    given every paid render."""
    cache = cache if cache is not None else Cache()
    reporter = reporter or NullReporter()
    _check_names(spec, options)
    with cache.spec_lock(spec.path, timeout=options.lock_timeout):
        plan = make_plan(spec, backend, cache, out=options.out, force=options.force)
        items = _selected(plan, options)
        orphans = [o for o in plan.orphans if not options.only or o.name in options.only]
        result = BuildResult(plan, paid=backend.uses_lock)
        if options.dry_run:
            verb = "submit" if backend.uses_lock else "render"
            result.dry_run = [(i.name, _would(i, verb)) for i in items if _would(i, verb)]
            result.dry_run += [(_earlier(o), f"finish into the cache: {o.reason}") for o in orphans]
            return result
        seconds = sum(i.seconds for i in items if i.status in RENDERS)
        if options.max_seconds is not None and seconds > options.max_seconds:
            raise ShotbuildError(
                f"this build would render {seconds:g} s of video, over --max-seconds"
                f" {options.max_seconds:g}; nothing was submitted (raise the limit or use --only)"
            )
        if any(_needs_backend(i, remote is not None) for i in items):
            backend.check_ready()
        orphans = _ready(backend, orphans, reporter)
        if plan.settled:
            cache.untrack_jobs(spec.path, plan.settled)
        if any(i.status not in (UP_TO_DATE, COSMETIC) for i in items):
            cache.remember_spec(spec.path, plan.manifest.build_dir)
        runner = _Executor(spec, backend, cache, options, reporter, sleep, clock, plan, result)
        runner.remote = remote
        if options.max_seconds is not None:
            runner.budget = options.max_seconds - seconds
        try:
            work = runner.settle(items)
            if work or orphans:  # asyncio only when there is work: a no-op build stays light
                import asyncio

                asyncio.run(runner.run(work, orphans))
        finally:
            plan.manifest.flush()
        return result


def _check_names(spec: Spec, options: BuildOptions) -> None:
    names = {shot.name for shot in spec.shots}
    for flag, given in (("--only", options.only), ("--force", options.force)):
        unknown = [n for n in given if n not in names]
        if unknown:
            raise UsageError(f"{flag}: no shot named {', '.join(unknown)} in {spec.path}")


def _selected(plan: Plan, options: BuildOptions) -> list[PlanItem]:
    if not options.only:
        return list(plan.items)
    return [i for i in plan.items if i.name in options.only and i.status != REMOVED]


def _needs_backend(item: PlanItem, remote: bool) -> bool:
    """Whether the shot surely needs the API. A locked render may come from the
    remote cache: without an API key only the shots it misses fail."""
    if item.status == RESTORE:
        return item.source == "lock" and not remote
    return item.status in (*RENDERS, IN_FLIGHT)


def _ready(backend: Backend, orphans: list[PlanItem], reporter: Reporter) -> list[PlanItem]:
    """Earlier versions are finished only when the API can be asked: a build that
    needs nothing else never fails for want of a key; they wait for the next one."""
    if not orphans:
        return orphans
    try:
        backend.check_ready()
    except ShotbuildError as e:
        names = ", ".join(o.name for o in orphans)
        reporter.message(f"note: earlier versions of {names} still rendering, not checked: {e}")
        return []
    return orphans


def _earlier(item: PlanItem) -> str:
    return f"{item.name} (earlier version)"


def _would(item: PlanItem, verb: str) -> str:
    if item.status in RENDERS:
        return f"{verb} ({item.seconds:g} s of video): {item.reason}"
    if item.status == RESTORE:
        return f"restore: {item.reason}"
    if item.status == IN_FLIGHT:
        return f"resume: {item.reason}"
    if item.status == REMOVED:
        return f"remove: {item.reason}"
    if item.status == COSMETIC:
        return f"record: {item.reason}"
    return ""


def crash_point(name: str) -> None:
    """Tests only: die here like kill -9 would, when $SHOTBUILD_TEST_CRASH_AT names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class _HashingWriter:
    """A file wrapper that hashes and counts what is written through it."""

    def __init__(self, f: IO[bytes], on_chunk: Callable[[int], None]) -> None:
        self.f = f
        self.digest = hashlib.sha256()
        self.size = 0
        self.on_chunk = on_chunk

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.on_chunk(self.size)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()

    def seekable(self) -> bool:
        return False  # a broken-off download is started again in a new file


class _Slots:
    """At most `limit` shots in flight, up to the -j the user asked for. A 429 on a
    create lowers the limit at once to the jobs still in flight (HeyGen's job limit
    is full); it grows back by one per round of finished jobs (as many as the limit),
    so probing for a free slot costs about one 429 per round, not one per job."""

    def __init__(self, jobs: int) -> None:
        self.most = max(1, jobs)
        self.limit = self.most
        self.active = 0
        self.credit = 0  # jobs finished since the limit last changed
        import asyncio

        self.cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self.cond:
            await self.cond.wait_for(lambda: self.active < self.limit)
            self.active += 1

    async def release(self, *, grow: bool = False) -> None:
        async with self.cond:
            self.active -= 1
            if grow and self.limit < self.most:
                self.credit += 1
                if self.credit >= self.limit:
                    self.limit, self.credit = self.limit + 1, 0
            self.cond.notify_all()

    async def step_back(self) -> None:
        """A 429 on a create: give the slot back and lower the limit to the jobs
        still in flight (at least one), so no other shot sends a create meanwhile."""
        async with self.cond:
            self.active -= 1
            self.limit, self.credit = max(1, min(self.limit, self.active)), 0
            self.cond.notify_all()

    def alone(self) -> bool:
        """No other shot of this build holds a slot (so no job of ours can free one)."""
        return self.active <= 1


class _Executor:
    def __init__(
        self,
        spec: Spec,
        backend: Backend,
        cache: Cache,
        options: BuildOptions,
        reporter: Reporter,
        sleep: Sleep | None,
        clock: Callable[[], float],
        plan: Plan,
        result: BuildResult,
    ) -> None:
        self.spec = spec
        self.backend = backend
        self.cache = cache
        self.options = options
        self.reporter = reporter
        self.sleep: Sleep = sleep or _real_sleep
        self.clock = clock
        self.result = result
        self.lock = dict(plan.lock)
        self.manifest: Manifest = plan.manifest
        self.manifest.save_every = 1.0
        self.stopping = False
        self.pool: Executor | None = None
        self.remote: RemoteCache | None = None
        self.remote_warned: set[str] = set()  # "read", "write": faults already reported
        self.budget: float | None = None  # seconds --max-seconds leaves for re-renders

    def settle(self, items: list[PlanItem]) -> list[PlanItem]:
        """Do what needs no backend (record, remove); return the shots left to build."""
        work = [i for i in items if i.status not in (UP_TO_DATE, COSMETIC, REMOVED)]
        _remove_stale_temps(self.manifest.build_dir / self.backend.subdir, items)
        for item in items:
            if item.status == UP_TO_DATE:
                self.result.up_to_date.append(item.name)
            elif item.status == COSMETIC:
                self._record_cosmetic(item)
            elif item.status == REMOVED and not self.options.only:
                self._remove(item)
        for item in work:
            self.reporter.shot(item.name, QUEUED, item.reason)
        return work

    async def run(self, work: list[PlanItem], orphans: list[PlanItem]) -> None:
        import asyncio

        self.slots = _Slots(self._workers() if self._local() else self.options.jobs)
        try:
            # jobs already rendering hold their slots first: they count against HeyGen's limit
            await asyncio.gather(
                *(self._orphan(item) for item in orphans), *(self._one(item) for item in work)
            )
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
            aclose = getattr(self.backend, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _one(self, item: PlanItem) -> None:
        await self.slots.acquire()
        ok = False
        try:
            if self.stopping and item.status != IN_FLIGHT:
                self.result.skipped.append(item.name)
                return
            if item.status == RESTORE:
                await self._restore(item)
            elif item.status != IN_FLIGHT and await self._from_remote(item):
                pass
            elif self._local():
                await self._render_local(item)
            else:
                await self._render_remote(item)
            ok = True
        except (ShotbuildError, OSError) as e:  # OSError: a full disk, a read-only folder
            message = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) else str(e)
            self.result.failed.append((item.name, message))
            self.reporter.shot(item.name, FAILED, message)
            if not self.options.keep_going:
                self.stopping = True
        finally:
            await self.slots.release(grow=ok)

    async def _orphan(self, item: PlanItem) -> None:
        """Finish a job of an earlier version of a shot into the cache (result and
        blob, never build/ or the lock), so changing the shot back costs nothing. Its
        failures are recorded and reported, and fail nothing of this build."""
        job = item.job
        assert job is not None and item.key is not None
        label = dataclasses.replace(item, name=_earlier(item))
        await self.slots.acquire()
        ok = False
        try:
            entry = await self._finish_job(label, job)
            self.cache.put_result(item.key, entry)
            self._put_job(job.replace(state=JOB_DONE))
            await self._share(entry)
            self.result.cached.append(item.name)
            self.reporter.shot(label.name, DONE, "kept in the cache")
            ok = True
        except JobGone as e:
            self._put_job(job.replace(state=JOB_FAILED, failure_code="video_not_found"))
            self.reporter.message(f"{label.name}: job {job.video_id} is unknown to the API ({e})")
        except (ShotbuildError, OSError) as e:
            self.reporter.message(f"{label.name}: {e}")
        finally:
            await self.slots.release(grow=ok)

    def _put_job(self, job: JobRecord) -> None:
        """Record a job, and keep the spec's list of jobs in flight in step with it."""
        self.cache.put_job(job)
        live = job.state in (JOB_INTENT, JOB_SUBMITTED)
        self.cache.track_job(self.spec.path, job.key, job.shot, live=live)

    # outcomes
    def _record_cosmetic(self, item: PlanItem) -> None:
        rel = output_rel(self.backend, item.name)
        owned = self.manifest.get(rel)
        if owned is not None and item.shot is not None:
            shot = item.shot
            self.manifest.put(
                rel, dataclasses.replace(owned, title=shot.title, callback_url=shot.callback_url)
            )
        self.result.up_to_date.append(item.name)

    def _remove(self, item: PlanItem) -> None:
        rel = output_rel(self.backend, item.name)
        owned = self.manifest.get(rel)
        if owned is not None and owned.belongs_to(self.spec.path):
            with contextlib.suppress(FileNotFoundError):
                item.output.unlink()
            self.manifest.forget(rel)
        if self.backend.uses_lock and self.lock.pop(item.name, None) is not None:
            write_lock(self.spec.lock_path, self.lock)
        self.result.removed.append(item.name)
        self.reporter.shot(item.name, SHOT_REMOVED, item.reason)

    def _materialise(self, item: PlanItem, entry: LockEntry) -> None:
        """Put a verified blob in place as the shot's output, and record it."""
        rel = output_rel(self.backend, item.name)
        path = item.output
        owned = self.manifest.get(rel)
        if owned is None and path.exists():
            if sha256_file(path) != entry.sha256:
                raise ShotFailed(
                    f"{path} exists and was not written by shotbuild; move it away and build again"
                )
            # the right bytes are already there (written, then killed before recording)
        elif owned is None or owned.sha256 != entry.sha256 or not owned.matches(path):
            copy_atomic(self.cache.blob_path(entry.sha256), path)
        shot = item.shot
        self.manifest.record(
            rel,
            {
                "shot": item.name,
                "backend": self.backend.name,
                "key": entry.key,
                "sha256": entry.sha256,
                "title": shot.title if shot else None,
                "callback_url": shot.callback_url if shot else None,
                "video_id": entry.video_id,
                "duration": entry.duration,
                "origin": entry.origin,
                "built_at": entry.built_at,
                "spec": str(self.spec.path),
            },
        )
        self.cache.put_result(entry.key, entry)
        if item.request is not None:
            self.cache.put_request(entry.key, item.request)
        if self.backend.uses_lock:
            self.lock[item.name] = entry
            write_lock(self.spec.lock_path, self.lock)

    async def _restore(self, item: PlanItem) -> None:
        entry = item.result
        assert entry is not None and item.key is not None
        entry = LockEntry(**{**entry.to_json(), "key": item.key})
        source = item.source or ""  # "cache", "lock" or "output"
        fetched = False
        if source == "lock":
            if await self._remote_blob(entry.sha256):
                source = "remote cache"
            else:
                try:
                    await self._fetch(item, entry.video_id, expect=entry.sha256)
                except JobGone:
                    await self._render_missing(item, entry)
                    return
                fetched = True
        self._materialise(item, entry)
        if fetched or source == "cache":
            await self._share(entry)  # the next machine gets it from the remote cache
        self.result.restored.append(item.name)
        self.reporter.shot(item.name, RESTORED, source)

    async def _render_missing(self, item: PlanItem, entry: LockEntry) -> None:
        """The locked render is gone from the API (404) and from the remote cache:
        render it again only when the user allows it, since the new video is not the
        one the team approved."""
        assert item.shot is not None and item.key is not None
        where = "nor in the remote cache" if self._remote_on() else "and no remote cache is set"
        gone = f"HeyGen no longer has the locked render {entry.video_id} (404) {where}"
        if not self.options.rerender_missing:
            raise ShotFailed(
                f"{gone}; `shotbuild build --rerender-missing` renders it again"
                " (a new video, not the approved one)"
            )
        seconds = seconds_of(item.shot)
        if self.budget is not None:
            if seconds > self.budget:
                raise ShotFailed(f"{gone}; rendering it again would go over --max-seconds")
            self.budget -= seconds
        self.reporter.message(f"{item.name}: {gone}: rendering it again (--rerender-missing)")
        job = self.cache.job(item.key)
        if (
            job is not None
            and job.state in (JOB_INTENT, JOB_SUBMITTED)
            and (job.video_id != entry.video_id)
        ):  # an earlier --rerender-missing was killed after its create: resume it
            redo = dataclasses.replace(item, status=IN_FLIGHT, job=job)
        else:
            redo = dataclasses.replace(item, status=CHANGED, job=job, forced=True)
        await self._render_remote(redo)

    # the shared remote cache: a miss or a fault only means "render it here"
    def _remote_on(self) -> RemoteCache | None:
        return self.remote if self.backend.uses_lock else None  # previews stay local

    async def _remote_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        import asyncio

        try:
            return await asyncio.to_thread(fn, *args)
        except ShotbuildError as e:
            # The cache turns itself off (reads, or only writes) after a fault; shots
            # that were talking to it at the same time fail alike: warn once per kind.
            kind = "write" if self.remote is None or self.remote.readable else "read"
            if kind not in self.remote_warned:
                self.remote_warned.add(kind)
                self.reporter.message(f"warning: {e}")
            return None

    async def _remote_blob(self, sha256: str) -> bool:
        remote = self._remote_on()
        if remote is None:
            return False
        tmp = self.cache.temp_file(".mp4")
        try:
            if await self._remote_call(remote.fetch_blob, sha256, tmp):
                self.cache.adopt_blob(tmp, sha256)
                return True
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    async def _from_remote(self, item: PlanItem) -> bool:
        """Restore a shot another machine already paid for, instead of rendering it."""
        remote = self._remote_on()
        if remote is None or item.key is None or item.forced:
            return False
        tmp = self.cache.temp_file(".mp4")
        try:
            entry = await self._remote_call(remote.pull, item.key, tmp)
            if entry is None:
                return False
            self.cache.adopt_blob(tmp, entry.sha256)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._materialise(item, LockEntry(**{**entry.to_json(), "key": item.key}))
        self.result.restored.append(item.name)
        self.reporter.shot(item.name, RESTORED, "remote cache")
        return True

    async def _share(self, entry: LockEntry) -> None:
        remote = self._remote_on()
        if remote is not None and remote.writable:
            await self._remote_call(
                remote.push, entry.key, entry, self.cache.blob_path(entry.sha256)
            )

    # local renders
    async def _render_local(self, item: PlanItem) -> None:
        backend = cast(LocalBackend, self.backend)
        assert item.shot is not None and item.key is not None
        tmp = self.cache.temp_file(".mp4")
        try:
            fn, args = backend.render_call(item.shot, self.spec.root, tmp)
            self.reporter.shot(item.name, RENDERING)
            import asyncio

            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._pool(), fn, *args)
            sha, size = sha256_file(tmp), tmp.stat().st_size
            self.cache.adopt_blob(tmp, sha)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        seconds = seconds_of(item.shot, DEFAULT_DURATION)  # auto_duration previews are 10 s
        entry = _entry(item.key, self.backend.name, sha, size, seconds, self.backend.identity)
        self._materialise(item, entry)
        self.result.built.append(item.name)
        self.result.seconds += seconds
        self.reporter.shot(item.name, DONE)

    def _pool(self) -> Executor:
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(max_workers=self._workers(), mp_context=ctx)
        return self.pool

    def _local(self) -> bool:
        return isinstance(self.backend, LocalBackend)

    def _workers(self) -> int:
        """Local renders are CPU-bound: one process per core at most."""
        return max(1, min(self.options.jobs, os.cpu_count() or 1))

    # remote jobs
    async def _render_remote(self, item: PlanItem) -> None:
        assert item.shot is not None and item.key is not None
        job = item.job if item.status == IN_FLIGHT else None
        if job is None:
            prior = item.job or self.cache.job(item.key)
            attempt = prior.attempt + 1 if prior is not None else 1
            job = JobRecord(
                key=item.key,
                shot=item.name,
                origin=self.backend.identity,
                idempotency_key=_idempotency_key(item, attempt),
                attempt=attempt,
                state=JOB_INTENT,
            )
        if job.video_id is None:
            if job.state == JOB_INTENT and item.status == IN_FLIGHT:
                self.reporter.message(
                    f"{item.name}: an earlier create may have been sent without its answer"
                    f" being recorded; sending it again with the same Idempotency-Key"
                    f" ({job.idempotency_key}), so HeyGen replays it rather than starting a job"
                )
            job = await self._create(item, job)
        try:
            # await first, then add: `x += await f()` would read x before the await
            # and lose the seconds of shots that finished meanwhile
            seconds = await self._poll_and_fetch(item, job)
            self.result.seconds += seconds
        except ShotFailed:
            raise
        except JobGone as e:
            gone = job.replace(
                state=JOB_FAILED, failure_code="video_not_found", failure_message=str(e)
            )
            self._put_job(gone)
            raise ShotFailed(
                f"job {job.video_id} is unknown to the API ({e}); the next build submits it again"
            ) from e
        except ShotbuildError as e:  # the API or the network, after the client's retries
            raise ShotFailed(
                f"{e}; job {job.video_id} stays recorded: run the build again to resume it"
            ) from e
        self.result.built.append(item.name)
        self.reporter.shot(item.name, DONE)

    async def _create(self, item: PlanItem, job: JobRecord) -> JobRecord:
        assert item.shot is not None and item.request is not None
        remote = cast(Any, self.backend)

        def uploading() -> None:
            self.reporter.shot(item.name, UPLOADING)

        body = await remote.prepare(item.shot, self.spec.root, uploading)
        self.cache.put_request(job.key, item.request)
        self._put_job(job)  # the intent, before anything is sent
        crash_point("before-create")
        seen = idle = 0  # 429s for this create; those with no other job of ours in flight
        while True:
            try:
                video_id = await remote.create(body, job.idempotency_key)
                break
            except RateLimitedError as e:
                seen += 1
                idle += self.slots.alone()
                if idle >= CREATE_ATTEMPTS:
                    raise ShotFailed(
                        f"still rate limited after {seen} tries ({e}); the intent is recorded"
                        " and the next build retries it with the same Idempotency-Key"
                    ) from e
                await self._wait_turn(item, e.retry_after, seen)
            except CreateRejected as e:
                failed = job.replace(
                    state=JOB_FAILED, failure_code="rejected", failure_message=str(e)
                )
                self._put_job(failed)
                if e.fatal:
                    self.stopping = True
                raise ShotFailed(f"create refused: {e}") from e
            except ShotbuildError as e:
                raise ShotFailed(
                    f"create failed ({e}); the intent is recorded and the next build"
                    f" retries it with the same Idempotency-Key"
                ) from e
        crash_point("after-create")
        job = job.replace(state=JOB_SUBMITTED, video_id=video_id, submitted_at=time.time())
        self._put_job(job)
        self.reporter.shot(item.name, SUBMITTED, video_id)
        return job

    async def _wait_turn(self, item: PlanItem, retry_after: float | None, seen: int) -> None:
        """After a 429 on a create: step back from the slots, wait what Retry-After
        says (capped; backoff without it), then wait for a slot to try again."""
        await self.slots.step_back()
        try:
            delay = (
                min(RETRY_AFTER_MAX, retry_after)
                if retry_after is not None
                else min(POLL_MAX, 2.0**seen)
            )
            self.reporter.shot(item.name, QUEUED, f"HeyGen's job limit is full: {delay:g} s")
            await self.sleep(delay)
        finally:
            await self.slots.acquire()

    async def _poll_and_fetch(self, item: PlanItem, job: JobRecord) -> float:
        """Finish a shot's job: its render downloaded, put in place and recorded."""
        entry = await self._finish_job(item, job)
        self._materialise(item, entry)
        self._put_job(job.replace(state=JOB_DONE))
        await self._share(entry)
        return entry.duration

    async def _finish_job(self, item: PlanItem, job: JobRecord) -> LockEntry:
        """Poll a job to its end (backing off with its age, up to --timeout) and
        download its render into the blob cache, verified."""
        assert item.key is not None and job.video_id is not None
        remote = cast(Any, self.backend)
        started = self.clock()
        while True:
            status = await remote.status(job.video_id)
            if status.state == "completed":
                break
            if status.state == "failed":
                why = ": ".join(x for x in (status.failure_code, status.failure_message) if x)
                self._put_job(
                    job.replace(
                        state=JOB_FAILED,
                        failure_code=status.failure_code,
                        failure_message=status.failure_message,
                    )
                )
                raise ShotFailed(f"render {job.video_id} failed: {why or 'no reason given'}")
            age = self.clock() - started
            if age > self.options.timeout:
                raise ShotFailed(
                    f"job {job.video_id} still rendering after {age:.0f} s; it stays recorded:"
                    " run the build again to resume it"
                )
            self.reporter.shot(item.name, RENDERING, job.video_id)
            await self.sleep(next_delay(age))  # shotbuild.polling: at most 12 % late
        sha, size = await self._fetch(item, job.video_id, first_url=status.video_url)
        guess = seconds_of(item.shot) if item.shot is not None else 0.0
        seconds = float(status.duration or guess)
        return _entry(item.key, job.video_id, sha, size, seconds, self.backend.identity)

    async def _fetch(
        self,
        item: PlanItem,
        video_id: str,
        *,
        first_url: str | None = None,
        expect: str | None = None,
    ) -> tuple[str, int]:
        """Download a render into the blob cache, verified; return (sha256, size)."""
        remote = cast(Any, self.backend)
        url = first_url
        broke: DownloadBrokeOff | None = None
        for _ in range(DOWNLOAD_ATTEMPTS):
            if url is None:
                url = (await remote.status(video_id)).video_url
                if url is None:
                    raise ShotFailed(f"job {video_id} has no video_url; try again later")
            tmp = self.cache.temp_file(".mp4")
            try:
                with tmp.open("wb") as f:
                    writer = _HashingWriter(f, lambda n: self._downloading(item.name, n))
                    await remote.download(url, cast(IO[bytes], writer), None)
                    f.flush()
                    os.fsync(f.fileno())
                sha = writer.digest.hexdigest()
                if expect is not None and sha != expect:
                    raise ShotFailed(
                        f"the video of {video_id} does not match shots.lock (sha256 {sha[:12]}"
                        f" is not {expect[:12]}); remove the shot's lock entry to render it again"
                    )
                self.cache.adopt_blob(tmp, sha)
                return sha, writer.size
            except LinkExpiredError:
                url = None  # fetch the status again for a fresh link
            except DownloadBrokeOff as e:
                broke = e  # start again in a new file (the link may still be good)
                await self.sleep(DOWNLOAD_RETRY_PAUSE)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        if broke is not None:
            raise ShotFailed(
                f"the download of {video_id} kept breaking off ({broke}); the job stays"
                " recorded: run the build again"
            )
        raise ShotFailed(f"the video_url of {video_id} kept expiring; run the build again")

    def _downloading(self, name: str, size: int) -> None:
        self.reporter.shot(name, DOWNLOADING, f"{size} bytes")
        crash_point("mid-download")


def _idempotency_key(item: PlanItem, attempt: int) -> str:
    """Derived from the key and the attempt, so even a build that lost its cache
    after a create replays that create instead of paying again (HeyGen keeps keys
    24 h). A forced render must be a new job: it gets a random part."""
    assert item.key is not None
    key = f"shotbuild-{item.key[:40]}-{attempt}"
    return f"{key}-{uuid.uuid4().hex[:12]}" if item.forced else key


def _remove_stale_temps(folder: Path, items: list[PlanItem]) -> None:
    """Remove what a killed build left half-copied: `.<output>.<random>.tmp` files of
    this spec's outputs (the build lock says no other build is writing them)."""
    prefixes = tuple(f".{item.output.name}." for item in items)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(".tmp") and entry.name.startswith(prefixes):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _entry(key: str, video_id: str, sha: str, size: int, seconds: float, origin: str) -> LockEntry:
    built_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return LockEntry(key, video_id, sha, size, seconds, origin, built_at)


async def _real_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
