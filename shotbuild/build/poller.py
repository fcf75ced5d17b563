"""One poll loop for all of a build's jobs in flight, instead of one per job.

Each job keeps its own schedule (shotbuild.polling: at once, at 2 s, then 12 % of
its age), and whenever any job is due, every job in flight is asked in the same
batched call (`JobRunner.statuses`, GET /v3/videos/statuses: up to 100 at once),
so the number of status calls follows the schedule of one job, not the number of
jobs, and every job is asked at least as often as its own schedule says. Where the
backend has no batched call (or leaves a job out), only the jobs that are due are
asked, each alone. Calls are at least MIN_GAP apart, whatever arrives.

The first job of the build seen completed teaches a `Prior` (when it ended, to
within one poll): later jobs are also asked at a few points in that window.

The clock and sleep are injected (tests run it on a frozen clock and a sleep
that returns at once: a wait that was slept counts as passed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from shotbuild.backends.base import JobRunner, JobStatus
from shotbuild.build.options import ShotFailed
from shotbuild.errors import ShotbuildError
from shotbuild.polling import DEFAULT, PollSchedule, Prior, learn
from shotbuild.status import RemoteState

MAX_IDS = 100  # per batched call (GET /v3/videos/statuses)
MIN_GAP = 0.02  # seconds between two status calls of the loop, at the least

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Watch:
    """One job being polled: since when (`started`, on the clock), when it is due
    next, and its age at the last poll that saw it in progress (`lo`)."""

    video_id: str
    started: float
    learns: bool  # its age is its true age (created this run), so it may teach the prior
    pending: Callable[[], None]
    future: asyncio.Future[JobStatus]
    due: float = 0.0
    lo: float | None = None

    def __post_init__(self) -> None:
        self.due = self.started


@dataclass
class Poller:
    runner: JobRunner
    clock: Clock
    sleep: Sleep
    timeout: float
    schedule: PollSchedule = DEFAULT
    prior: Prior | None = None
    watches: dict[str, Watch] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event | None = None
    _last_call: float | None = None

    async def wait(
        self,
        video_id: str,
        *,
        started: float | None = None,
        pending: Callable[[], None] = lambda: None,
    ) -> JobStatus:
        """Until the job ends: its completed or failed status. `started` (on the clock)
        is when it was created in this run; without it its age counts from now and it
        teaches nothing. Raises what asking raised (JobGone, the API's errors) and
        ShotFailed once it is older than the timeout."""
        watch = self.watches.get(video_id)
        if watch is None:
            now = self.clock()
            future: asyncio.Future[JobStatus] = asyncio.get_running_loop().create_future()
            watch = Watch(
                video_id, now if started is None else started, started is not None, pending, future
            )
            self.watches[video_id] = watch
            self._kick()
        try:
            return await asyncio.shield(watch.future)
        finally:
            if not watch.future.done():  # the shot was cancelled: stop asking for it
                self.watches.pop(video_id, None)

    def _kick(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.ensure_future(self._loop())
        elif self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        try:
            while self.watches:
                await self._tick(await self._until_due())
        except Exception as e:  # a bug: every waiter hears of it, none hangs
            for watch in self.watches.values():
                if not watch.future.done():
                    watch.future.set_exception(e)
            self.watches.clear()

    async def _until_due(self) -> float:
        """Sleep until the first job is due, and never sooner than MIN_GAP after the
        last call (a job that arrives meanwhile is counted in); return the time up to
        which jobs count as due (what was slept counts as passed, on any clock)."""
        while True:
            now = self.clock()
            at = min(w.due for w in self.watches.values())
            if self._last_call is not None:
                at = max(at, self._last_call + MIN_GAP)
            if at <= now:
                return now
            if await self._slept(at - now):
                return at

    async def _slept(self, seconds: float) -> bool:
        """Sleep `seconds`; False if a new job came first (then it is counted in)."""
        assert self._wake is not None
        self._wake.clear()
        sleeping = asyncio.ensure_future(self.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        done, _ = await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeping, woken):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return sleeping in done

    async def _tick(self, horizon: float) -> None:
        """Ask about the jobs due by `horizon` (and, in the same batched calls, as
        many of the others as fit); each due job the answers leave out, alone."""
        due = [w for w in self.watches.values() if w.due <= horizon]
        if not due:
            return
        rest = sorted((w for w in self.watches.values() if w.due > horizon), key=lambda w: w.due)
        ask = due + rest[: -len(due) % MAX_IDS]
        answered: set[str] = set()
        for start in range(0, len(ask), MAX_IDS):
            answered |= await self._batch(ask[start : start + MAX_IDS])
        alone = [w for w in due if w.video_id not in answered]
        await asyncio.gather(*(self._alone(w) for w in alone))

    async def _batch(self, watches: Sequence[Watch]) -> set[str]:
        """One batched call; the IDs it answered (none when the backend cannot batch,
        or the call failed: then the due jobs are asked alone, and fail alone)."""
        sent = self._called()
        try:
            found = await self.runner.statuses([w.video_id for w in watches])
        except ShotbuildError:
            return set()
        got = self.clock()
        for watch in watches:
            status = found.get(watch.video_id)
            if status is not None:
                self._seen(watch, status, sent, got)
        return set(found)

    async def _alone(self, watch: Watch) -> None:
        sent = self._called()
        try:
            status = await self.runner.status(watch.video_id)
        except ShotbuildError as e:
            self._end(watch)
            if not watch.future.done():
                watch.future.set_exception(e)
            return
        self._seen(watch, status, sent, self.clock())

    def _called(self) -> float:
        self._last_call = self.clock()
        return self._last_call

    def _seen(self, watch: Watch, status: JobStatus, sent: float, got: float) -> None:
        """What one answer means for a job: it ended (the waiter gets it), it is too
        old (ShotFailed), or it is due again at its next poll."""
        if self.watches.get(watch.video_id) is not watch or watch.future.done():
            return
        age = sent - watch.started
        if status.state != RemoteState.PENDING:
            if status.state == RemoteState.COMPLETED and watch.learns:
                self.prior = learn(self.prior, watch.lo, got - watch.started)
            self._end(watch)
            watch.future.set_result(status)
            return
        watch.lo = age
        watch.pending()
        if got - watch.started > self.timeout:
            self._end(watch)
            watch.future.set_exception(
                ShotFailed(
                    f"job {watch.video_id} still rendering after {got - watch.started:.0f} s;"
                    " it stays recorded: run the build again to resume it"
                )
            )
            return
        watch.due = watch.started + self.schedule.next_age(age, self.prior)

    def _end(self, watch: Watch) -> None:
        if self.watches.get(watch.video_id) is watch:
            del self.watches[watch.video_id]
