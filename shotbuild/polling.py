"""When to ask for a render's status again: a pure schedule of poll times.

The first poll comes at once (a cached or replayed job may already be done), the
second at 2 s, and from then on each wait is a fixed share of the job's age, so the
polls form a geometric series t(k+1) = 1.12 t(k). A wait is never shorter than that
share, so a job asked a little early (with others in one batched call) is not asked
again a moment later. A render that ends just after a
poll is seen at the next one, at most 12 % late, whatever its length (2 s or 10
minutes). No schedule that knows nothing of the length can stay within 15 % with
fewer than ln(300)/ln(1.15) = 41 polls over 2 s - 10 min; this one makes 57. The
old schedule, waits of min(30, 2 + age/10), saw a 2.05 s render at 4.2 s (2.05x).

The wait is capped at 30 s (PRODUCT.md: polling backs off "about 2 s up to 30 s"),
reached at an age of 250 s; past it a render is at most 30 s late, under 12 % of
its length, so the cap costs no accuracy, only a few polls (57 for 10 minutes
instead of 53 uncapped), and a job that runs for hours is still asked about every
30 s. The wait never grows with the build's size: status calls per second are
at most jobs in flight / 0.24 s early on, and batching them (`GET
/v3/videos/statuses`, HeyGenClient.video_statuses) is how many jobs stay within
HeyGen's rate limits. A `Prior` (the fastest render seen in this build) adds a
few polls to later jobs where that render ended (shotbuild.build.poller).
Nothing here sleeps or reads a clock unless given one (`PollTimer`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class PollSchedule:
    """Poll at 0, at `second`, then wait `share` x age, never more than `cap`."""

    second: float = 2.0
    share: float = 0.12
    cap: float = 30.0

    def __post_init__(self) -> None:
        if not (self.second > 0 and self.share > 0 and self.cap > 0):
            raise ValueError("second, share and cap must all be positive")

    def delay(self, age: float) -> float:
        """Seconds to wait after a poll made `age` seconds after the job started. Before
        `second` it waits until then, but never less than `share` x age: a job asked
        at 1.99 s (with others, in one call) is asked next at 2.23 s, not at 2 s."""
        age = max(0.0, age)
        return min(self.cap, max(self.second - age, self.share * age))

    def next_age(self, age: float, prior: Prior | None = None) -> float:
        """The age of the next poll after one at `age`: the schedule's, or sooner
        where `prior` puts a poll (where this build's fastest render ended)."""
        at = age + self.delay(age)
        if prior is not None:
            at = min([at, *(p for p in prior.points() if p > age)])
        return at

    def times(self) -> Iterator[float]:
        return poll_times(self.delay)

    def seen_at(self, length: float) -> tuple[float, int]:
        return seen_at(self.delay, length)

    def times_until(self, end: float) -> list[float]:
        """The poll times before `end` (an age)."""
        return list(itertools.takewhile(lambda t: t < end, self.times()))

    def worst_ratio(self, shortest: float, longest: float) -> tuple[float, float]:
        return worst_ratio(self.delay, shortest, longest)


Delay = Callable[[float], float]


def poll_times(delay: Delay) -> Iterator[float]:
    """The ideal poll times under `delay` (a status call taking no time), without end."""
    age = 0.0
    while True:
        yield age
        age += delay(age)


def seen_at(delay: Delay, length: float) -> tuple[float, int]:
    """(when a render of `length` s is first seen done, polls made until then)."""
    for count, at in enumerate(poll_times(delay), start=1):
        if at >= length:
            return at, count
    raise AssertionError("unreachable: poll_times() never ends")  # pragma: no cover


def worst_ratio(delay: Delay, shortest: float, longest: float) -> tuple[float, float]:
    """(the largest seen_at(L)/L for L in [shortest, longest], the L it happens at).
    seen_at is a step function of L, so the worst L lies just after a poll time."""
    worst, where = seen_at(delay, shortest)[0] / shortest, shortest
    for at in poll_times(delay):
        if at >= longest:
            return worst, where
        length = math.nextafter(at, math.inf)
        if length >= shortest:
            ratio = seen_at(delay, length)[0] / length
            if ratio > worst:
                worst, where = ratio, length
    raise AssertionError("unreachable: poll_times() never ends")  # pragma: no cover


DEFAULT = PollSchedule()
PRIOR_POINTS = 4  # polls a prior adds to each later job: its window cut in quarters


@dataclass(frozen=True)
class Prior:
    """The fastest render seen in this build: still in progress at age `lo` and seen
    completed at age `hi` (seconds from its create). Jobs of one build tend to take
    alike, so later jobs are also asked at points inside (lo, hi]; each job seen done
    there narrows the window, so later waves are seen ever closer to their end.
    A job that ends sooner than any before is still seen by the schedule's polls."""

    lo: float
    hi: float

    def points(self) -> tuple[float, ...]:
        step = (self.hi - self.lo) / PRIOR_POINTS
        return tuple(self.lo + step * k for k in range(1, PRIOR_POINTS + 1))


def learn(prior: Prior | None, lo: float | None, hi: float) -> Prior | None:
    """`prior` after a job was seen completed at age `hi`, last seen in progress at
    `lo` (None: never). The window that ends soonest wins; one no narrower than a
    schedule step (lo unknown, or the first 0 -> 2 s wait) teaches nothing."""
    if lo is None or not 0 < lo < hi or hi - lo > 0.25 * hi:
        return prior
    if prior is None or (hi, -lo) < (prior.hi, -prior.lo):
        return Prior(lo, hi)
    return prior


def next_delay(age: float, schedule: PollSchedule = DEFAULT) -> float:
    """Seconds until the next status call of a job `age` seconds old."""
    return schedule.delay(age)


@dataclass(frozen=True)
class PollTimer:
    """One job's polling clock: `next_delay()` from its age on `clock`."""

    started: float
    clock: Clock = time.monotonic
    schedule: PollSchedule = DEFAULT

    @classmethod
    def start(cls, clock: Clock = time.monotonic, schedule: PollSchedule = DEFAULT) -> PollTimer:
        return cls(clock(), clock, schedule)

    @property
    def age(self) -> float:
        return self.clock() - self.started

    def next_delay(self) -> float:
        return self.schedule.delay(self.age)
