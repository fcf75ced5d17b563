"""The life of a remote job: intent, create (paced by the job slots on a 429),
poll to its end, download verified, record. A create is preceded by its stored
intent (key + Idempotency-Key) and its video_id is stored the moment it arrives,
so a killed build resumes its jobs and never pays twice for a key."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, cast

from shotbuild import takes
from shotbuild.backends.base import (
    CreateRejected,
    DownloadBrokeOff,
    JobGone,
    JobRunner,
    JobStatus,
    LinkExpiredError,
    RateLimitedError,
)
from shotbuild.build import crash
from shotbuild.build.context import Context
from shotbuild.build.held import render_done
from shotbuild.build.options import ShotFailed
from shotbuild.build.record import Recorder, entry_of
from shotbuild.errors import ShotbuildError
from shotbuild.plan import Orphan, Render, Resume, ShotItem, seconds_of
from shotbuild.request import Body
from shotbuild.status import Progress, RemoteState
from shotbuild.store.cache import JOB_DONE, JOB_FAILED, JOB_INTENT, JOB_SUBMITTED, JobRecord
from shotbuild.store.lock import LockEntry

if TYPE_CHECKING:
    from shotbuild.build.poller import Poller

POLL_MAX = 30.0
CREATE_ATTEMPTS = 8
RETRY_AFTER_MAX = 120.0  # a longer Retry-After on a create is cut to this
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_RETRY_PAUSE = 1.0  # seconds before a broken-off download starts again


async def _to_thread(fn: Callable[[int], None], arg: int) -> None:
    import asyncio

    await asyncio.to_thread(fn, arg)


class HashingWriter:
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


def idempotency_key(key: str, attempt: int, *, forced: bool) -> str:
    """Derived from the key and the attempt, so even a build that lost its cache
    after a create replays that create instead of paying again (HeyGen keeps keys
    24 h). A forced render must be a new job: it gets a random part."""
    base = takes.idempotency_key(key, attempt)
    if not forced:
        return base
    import uuid  # (uuid imports platform: not on a no-op build's path)

    return f"{base}-{uuid.uuid4().hex[:12]}"


class RemoteJobs:
    """Shots as paid remote jobs, through a JobRunner."""

    def __init__(self, ctx: Context, recorder: Recorder, runner: JobRunner, identity: str):
        self.ctx = ctx
        self.recorder = recorder
        self.runner = runner
        self.identity = identity
        self._poller: Poller | None = None
        self.created: dict[str, float] = {}  # video_id -> when its create came back (clock)

    async def close(self) -> None:
        await self.runner.close()

    @property
    def poller(self) -> Poller:
        """The build's one poll loop (made on first use: a no-op build loads no asyncio)."""
        if self._poller is None:
            from shotbuild.build.poller import Poller

            self._poller = Poller(
                self.runner, self.ctx.clock, self.ctx.sleep, self.ctx.options.timeout
            )
        return self._poller

    async def render(self, item: Render | Resume) -> None:
        """Submit (or resume) a shot's job and see it through to its recorded output."""
        match item:
            case Resume(job=job):
                await self.run(item, job, replay=True)
            case Render(previous=previous, forced=forced):
                await self.run(item, self.new_job(item, previous, forced=forced), forced=forced)

    async def render_again(self, item: ShotItem) -> None:
        """A new, forced job for a shot whose locked render the API lost."""
        await self.run(item, self.new_job(item, None, forced=True), forced=True)

    async def run(
        self, item: ShotItem, job: JobRecord, *, replay: bool = False, forced: bool = False
    ) -> None:
        """See a job through; a new one (not a `replay` of a job on record) is made
        again from the job on record for its key when its intent is written."""
        if job.video_id is None:
            if job.state == JOB_INTENT and replay:
                self._say_replay(item, job)
            resent = job.state == JOB_INTENT and replay  # paid for, if HeyGen got it before

            def renew(prior: JobRecord | None) -> JobRecord:
                return self.new_job(item, prior, forced=forced)

            job = await self._create(item, job, None if replay else renew)
            if not resent:
                self.ctx.result.add_paid(self.ctx.result.plan.render_cost(item.shot))
        try:
            # await first, then add: `x += await f()` would read x before the await
            # and lose the seconds of shots that finished meanwhile
            seconds = await self._poll_and_fetch(item, job)
            self.ctx.result.seconds += seconds
        except ShotFailed:
            raise
        except JobGone as e:
            gone = job.replace(
                state=JOB_FAILED, failure_code="video_not_found", failure_message=str(e)
            )
            self.recorder.journal(gone)
            raise ShotFailed(
                f"job {job.video_id} is unknown to the API ({e}); the next build submits it again"
            ) from e
        except ShotbuildError as e:  # the API or the network, after the client's retries
            raise ShotFailed(
                f"{e}; job {job.video_id} stays recorded: run the build again to resume it"
            ) from e
        self.ctx.result.add_built(item.name)
        self.ctx.reporter.shot(item.label, Progress.DONE)

    def new_job(self, item: ShotItem, prior: JobRecord | None, *, forced: bool) -> JobRecord:
        """The job after `prior` (the key's job on record, if any): its next attempt."""
        key = item.job_key  # a reroll's take has its own key, so its own Idempotency-Key
        attempt = prior.attempt + 1 if prior is not None else 1
        return JobRecord(
            key=key,
            shot=item.name,
            origin=self.identity,
            idempotency_key=idempotency_key(key, attempt, forced=forced),
            attempt=attempt,
            state=JOB_INTENT,
        )

    def _say_replay(self, item: ShotItem, job: JobRecord) -> None:
        self.ctx.reporter.message(
            f"{item.label}: an earlier create may have been sent without its answer"
            f" being recorded; sending it again with the same Idempotency-Key"
            f" ({job.idempotency_key}), so HeyGen replays it rather than starting a job"
        )

    async def _create(
        self, item: ShotItem, job: JobRecord, renew: Callable[[JobRecord | None], JobRecord] | None
    ) -> JobRecord:

        def uploading() -> None:
            self.ctx.reporter.shot(item.label, Progress.UPLOADING)

        body = await self.runner.prepare(item.shot, self.ctx.spec.root, uploading)
        # committed before anything is sent; a new job's attempt follows the record
        job = await self.recorder.intend(job, item.request, renew)
        crash.crash_point("before-create")
        video_id = await self._send(item, job, body)
        self.created[video_id] = self.ctx.clock()
        crash.crash_point("after-create")
        job = job.replace(state=JOB_SUBMITTED, video_id=video_id, submitted_at=time.time())
        await self.recorder.submitted(job)  # committed before the job goes on
        self.ctx.reporter.shot(item.label, Progress.SUBMITTED, video_id)
        return job

    async def _send(self, item: ShotItem, job: JobRecord, body: Body) -> str:
        """The create itself; on a 429, wait for a slot and try again."""
        seen = idle = 0  # 429s for this create; those with no other job of ours in flight
        while True:
            try:
                return await self.runner.create(body, job.idempotency_key)
            except RateLimitedError as e:
                seen += 1
                idle += self.ctx.slot().alone()
                if idle >= CREATE_ATTEMPTS:
                    raise ShotFailed(
                        f"still rate limited after {seen} tries ({e}); the intent is recorded"
                        " and the next build retries it with the same Idempotency-Key"
                    ) from e
                await self._wait_turn(item, e.retry_after, seen)
            except CreateRejected as e:
                failed = job.replace(state=JOB_FAILED, failure_code=e.code, failure_message=str(e))
                self.recorder.journal(failed)
                self.ctx.stopping = self.ctx.stopping or e.fatal
                raise ShotFailed(f"create refused: {e}") from e
            except ShotbuildError as e:
                raise ShotFailed(
                    f"create failed ({e}); the intent is recorded and the next build"
                    f" retries it with the same Idempotency-Key"
                ) from e

    async def _wait_turn(self, item: ShotItem, retry_after: float | None, seen: int) -> None:
        """After a 429 on a create: step back from the slots, wait what Retry-After
        says (capped; backoff without it), then wait for a slot to try again."""
        slots = self.ctx.slot()
        await slots.step_back()
        try:
            delay = (
                min(RETRY_AFTER_MAX, retry_after)
                if retry_after is not None
                else min(POLL_MAX, 2.0**seen)
            )
            detail = f"HeyGen's job limit is full: {delay:g} s"
            self.ctx.reporter.shot(item.label, Progress.QUEUED, detail)
            await self.ctx.sleep(delay)
        finally:
            await slots.acquire()

    async def _poll_and_fetch(self, item: ShotItem, job: JobRecord) -> float:
        """Finish a shot's job: its render downloaded, put in place and recorded."""
        entry = await self.finish(item.label, job, seconds_of(item.shot))
        await self.recorder.record(item, entry)
        self.recorder.journal(job.replace(state=JOB_DONE))  # staged with the render's records
        await self.recorder.shared.push(entry)
        return entry.duration

    async def finish_earlier(self, item: Orphan, label: str) -> None:
        """Finish a job of an earlier version of a shot into the caches."""
        entry = await self.finish(label, item.job, 0.0)
        await self.recorder.keep_earlier(item.key, entry)
        self.recorder.journal(item.job.replace(state=JOB_DONE))

    async def finish(self, name: str, job: JobRecord, guess: float) -> LockEntry:
        """Poll a job to its end and download its render into the blob cache, verified;
        `guess` is its length when the API does not say."""
        assert job.video_id is not None
        status = await self._poll(name, job, job.video_id)
        await render_done()  # no longer rendering at HeyGen: the next create may go
        sha, size = await self.fetch(name, job.video_id, first_url=status.video_url)
        seconds = float(status.duration or guess)
        return entry_of(job.key, job.video_id, sha, size, seconds, self.identity)

    async def _poll(self, name: str, job: JobRecord, video_id: str) -> JobStatus:
        """Wait for the job's end in the build's one poll loop (shotbuild.build.poller:
        batched, at most 12 % late, up to --timeout). A job created in this run is
        timed from its create, so it may teach the loop when renders end."""

        def rendering() -> None:
            self.ctx.reporter.shot(name, Progress.RENDERING, video_id)

        started = self.created.get(video_id)
        status = await self.poller.wait(video_id, started=started, pending=rendering)
        if status.state == RemoteState.FAILED:
            self._failed(job, status)
        return status

    def _failed(self, job: JobRecord, status: JobStatus) -> None:
        why = ": ".join(x for x in (status.failure_code, status.failure_message) if x)
        self.recorder.journal(
            job.replace(
                state=JOB_FAILED,
                failure_code=status.failure_code,
                failure_message=status.failure_message,
            )
        )
        raise ShotFailed(f"render {job.video_id} failed: {why or 'no reason given'}")

    async def fetch(
        self, name: str, video_id: str, *, first_url: str | None = None, expect: str = ""
    ) -> tuple[str, int]:
        """Download a render into the blob cache, verified; return (sha256, size)."""
        url = first_url
        broke: DownloadBrokeOff | None = None
        for _ in range(DOWNLOAD_ATTEMPTS):
            if url is None:
                url = (await self.runner.status(video_id)).video_url
                if url is None:
                    raise ShotFailed(f"job {video_id} has no video_url; try again later")
            try:
                return await self._download(name, video_id, url, expect)
            except LinkExpiredError:
                url = None  # fetch the status again for a fresh link
            except DownloadBrokeOff as e:
                broke = e  # start again in a new file (the link may still be good)
                await self.ctx.sleep(DOWNLOAD_RETRY_PAUSE)
        if broke is not None:
            raise ShotFailed(
                f"the download of {video_id} kept breaking off ({broke}); the job stays"
                " recorded: run the build again"
            )
        raise ShotFailed(f"the video_url of {video_id} kept expiring; run the build again")

    async def _download(self, name: str, video_id: str, url: str, expect: str) -> tuple[str, int]:
        tmp = self.ctx.cache.temp_file(".mp4")
        try:
            with tmp.open("wb") as f:
                writer = HashingWriter(f, lambda n: self._downloading(name, n))
                await self.runner.download(url, cast(IO[bytes], writer), None)
                f.flush()
                await _to_thread(os.fsync, f.fileno())  # the loop polls and creates meanwhile
            sha = writer.digest.hexdigest()
            if expect and sha != expect:
                raise ShotFailed(
                    f"the video of {video_id} does not match shots.lock (sha256 {sha[:12]}"
                    f" is not {expect[:12]}); remove the shot's lock entry to render it again"
                )
            self.ctx.cache.adopt_blob(tmp, sha)
            return sha, writer.size
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _downloading(self, name: str, size: int) -> None:
        self.ctx.reporter.shot(name, Progress.DOWNLOADING, f"{size} bytes")
        crash.crash_point("mid-download")
