"""The build's one poll loop (shotbuild.build.poller) against a fake runner on a fake
clock: batched calls for all jobs in flight, each job alone where the backend
cannot batch, the prior from the fastest render, timeouts, errors, cancellation."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from shotbuild.backends.base import JobGone, JobStatus
from shotbuild.build.options import ShotFailed
from shotbuild.build.poller import MIN_GAP, Poller
from shotbuild.errors import ShotbuildError
from shotbuild.polling import DEFAULT
from shotbuild.status import RemoteState

DONE = JobStatus(RemoteState.COMPLETED, video_url="https://cdn/v.mp4", duration=4.0)
PENDING = JobStatus(RemoteState.PENDING)


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Runner:
    """Jobs that end at fixed times of the fake clock (from when they were added)."""

    clock: Clock
    batches: bool = True
    ends: dict[str, float] = field(default_factory=dict)
    failing: dict[str, ShotbuildError] = field(default_factory=dict)
    batch_calls: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)
    alone_calls: list[tuple[float, str]] = field(default_factory=list)

    def add(self, video_id: str, length: float) -> None:
        self.ends[video_id] = self.clock.now + length

    def _state(self, video_id: str) -> JobStatus:
        return DONE if self.clock.now >= self.ends[video_id] else PENDING

    async def statuses(self, video_ids: Sequence[str]) -> dict[str, JobStatus]:
        self.batch_calls.append((self.clock.now, tuple(video_ids)))
        if not self.batches:
            return {}
        return {i: self._state(i) for i in video_ids if i not in self.failing}

    async def status(self, video_id: str) -> JobStatus:
        self.alone_calls.append((self.clock.now, video_id))
        if video_id in self.failing:
            raise self.failing[video_id]
        return self._state(video_id)


def poller(runner: Runner, timeout: float = 3600.0) -> Poller:
    return Poller(runner, runner.clock, runner.clock.sleep, timeout)  # type: ignore[arg-type]


async def wait_all(p: Poller, runner: Runner, lengths: dict[str, float]) -> dict[str, float]:
    """Start a job per entry at the clock's now; return when each was seen done."""
    seen: dict[str, float] = {}

    async def one(video_id: str) -> None:
        runner.add(video_id, lengths[video_id])
        status = await p.wait(video_id, started=runner.clock.now)
        assert status == DONE
        seen[video_id] = runner.clock.now

    await asyncio.gather(*(one(i) for i in lengths))
    return seen


def test_many_jobs_in_flight_share_one_call_per_poll() -> None:
    clock = Clock()
    runner = Runner(clock)
    lengths = {f"v{i}": 5.0 + i / 100 for i in range(30)}
    seen = asyncio.run(wait_all(poller(runner), runner, lengths))
    assert runner.alone_calls == []
    assert all(len(ids) == 30 for _, ids in runner.batch_calls[:1])
    # the calls follow one job's schedule, not thirty: 0, 2, 2.24, ... past 5.29 s
    single_job_polls = DEFAULT.seen_at(5.29)[1]
    assert len(runner.batch_calls) <= single_job_polls + 1
    for video_id, at in seen.items():
        assert lengths[video_id] <= at <= lengths[video_id] * 1.12 + 1e-9


def test_without_batches_each_due_job_is_asked_alone_by_its_own_schedule() -> None:
    clock = Clock()
    runner = Runner(clock, batches=False)
    seen = asyncio.run(wait_all(poller(runner), runner, {"a": 3.0, "b": 30.0}))
    asked_a = [t for t, i in runner.alone_calls if i == "a"]
    asked_b = [t for t, i in runner.alone_calls if i == "b"]
    assert asked_a == pytest.approx([0.0, 2.0, 2.24, 2.5088, 2.809856, 3.14703872])
    assert len(asked_b) == DEFAULT.seen_at(30.0)[1]  # b is not asked at a's polls
    assert seen["a"] == pytest.approx(3.14703872) and 30.0 <= seen["b"] <= 30.0 * 1.12


def test_the_fastest_render_seen_adds_polls_for_later_jobs() -> None:
    clock = Clock()
    runner = Runner(clock, batches=False)
    p = poller(runner)
    first = asyncio.run(wait_all(p, runner, {"first": 2.05}))
    assert first["first"] == pytest.approx(2.24)  # the schedule alone: 9 % late
    assert p.prior is not None and (p.prior.lo, p.prior.hi) == pytest.approx((2.0, 2.24))
    lateness = []
    for wave in range(3):
        start = clock.now
        seen = asyncio.run(wait_all(p, runner, {f"w{wave}": 2.05}))
        lateness.append(seen[f"w{wave}"] - start - 2.05)
    assert lateness[0] == pytest.approx(0.01)  # asked at 2.06: the window's first quarter
    assert all(late < 0.05 for late in lateness)
    assert p.prior.hi < 2.07


def test_a_job_faster_than_the_prior_is_still_seen_by_the_schedule() -> None:
    clock = Clock()
    runner = Runner(clock, batches=False)
    p = poller(runner)
    asyncio.run(wait_all(p, runner, {"slow": 20.0}))
    start = clock.now
    seen = asyncio.run(wait_all(p, runner, {"quick": 2.1}))
    assert seen["quick"] - start == pytest.approx(2.24)


def test_a_job_older_than_the_timeout_fails_alone() -> None:
    clock = Clock()
    runner = Runner(clock)
    p = poller(runner, timeout=10.0)

    async def both() -> tuple[object, object]:
        runner.add("long", 100.0)
        runner.add("short", 3.0)
        return tuple(
            await asyncio.gather(
                p.wait("long", started=0.0), p.wait("short", started=0.0), return_exceptions=True
            )
        )

    long, short = asyncio.run(both())
    assert isinstance(long, ShotFailed) and "still rendering after 1" in str(long)
    assert short == DONE


def test_an_error_asking_one_job_fails_only_that_job() -> None:
    clock = Clock()
    runner = Runner(clock)
    runner.failing["gone"] = JobGone("HeyGen has no such video")
    p = poller(runner)

    async def both() -> list[object]:
        runner.add("gone", 1.0)
        runner.add("fine", 2.5)
        waits = [p.wait("gone", started=0.0), p.wait("fine", started=0.0)]
        return list(await asyncio.gather(*waits, return_exceptions=True))

    gone, fine = asyncio.run(both())
    assert isinstance(gone, JobGone) and fine == DONE
    assert [i for _, i in runner.alone_calls] == ["gone"]  # left out of the batch: alone


def test_a_cancelled_wait_stops_asking_for_that_job() -> None:
    clock = Clock()
    runner = Runner(clock)
    p = poller(runner)

    async def cancel_one() -> None:
        runner.add("kept", 5.0)
        runner.add("dropped", 500.0)
        dropped = asyncio.ensure_future(p.wait("dropped", started=0.0))
        kept = asyncio.ensure_future(p.wait("kept", started=0.0))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        dropped.cancel()
        assert await kept == DONE
        assert "dropped" not in p.watches

    asyncio.run(cancel_one())
    last = runner.batch_calls[-1][1]
    assert last == ("kept",)


def test_calls_are_at_least_min_gap_apart() -> None:
    clock = Clock()
    runner = Runner(clock)
    lengths = {f"v{i}": 2.0 + i * 0.001 for i in range(20)}

    async def staggered() -> None:
        p = poller(runner)

        async def one(i: int) -> None:
            await clock.sleep(0.001 * i)  # created one after another
            runner.add(f"v{i}", lengths[f"v{i}"])
            await p.wait(f"v{i}", started=clock.now)

        await asyncio.gather(*(one(i) for i in range(20)))

    asyncio.run(staggered())
    times = [t for t, _ in runner.batch_calls]
    assert all(b - a >= MIN_GAP - 1e-9 for a, b in itertools.pairwise(times))


def test_a_frozen_clock_and_a_sleep_that_returns_at_once_still_finish() -> None:
    calls = []

    class Counting:
        async def statuses(self, video_ids: Sequence[str]) -> dict[str, JobStatus]:
            calls.append(tuple(video_ids))
            return {i: DONE if len(calls) >= 3 else PENDING for i in video_ids}

        async def status(self, video_id: str) -> JobStatus:
            raise AssertionError("batched")

    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    async def run() -> list[JobStatus]:
        p = Poller(Counting(), lambda: 0.0, no_sleep, 60.0)  # type: ignore[arg-type]
        return list(await asyncio.gather(p.wait("a"), p.wait("b")))

    assert asyncio.run(run()) == [DONE, DONE]
    assert len(calls) == 3


def test_on_the_real_clock_jobs_arriving_between_calls_wait_for_the_gap() -> None:
    import time

    calls: list[float] = []
    ends: dict[str, float] = {}

    class Real:
        async def statuses(self, video_ids: Sequence[str]) -> dict[str, JobStatus]:
            calls.append(time.monotonic())
            return {i: DONE if time.monotonic() >= ends[i] else PENDING for i in video_ids}

        async def status(self, video_id: str) -> JobStatus:
            raise AssertionError("batched")

    async def run() -> None:
        p = Poller(Real(), time.monotonic, asyncio.sleep, 60.0)  # type: ignore[arg-type]

        async def one(i: int) -> None:
            await asyncio.sleep(0.004 * i)  # each arrives soon after the last call
            ends[f"v{i}"] = time.monotonic() + 0.05
            await p.wait(f"v{i}", started=time.monotonic())

        await asyncio.gather(*(one(i) for i in range(10)))

    asyncio.run(run())
    assert len(calls) >= 2
    assert all(b - a >= MIN_GAP * 0.9 for a, b in itertools.pairwise(calls)), calls
