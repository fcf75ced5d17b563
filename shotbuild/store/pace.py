"""When a batched write of a whole file (the lock, the manifest) is due.

At most one write per `every` seconds, and fewer as the file grows: the wait after
a write is at least `1 / share` times what that write took, so writing the file
stays under `share` of a build's time however large it gets (a fixed interval
still makes a build quadratic: each write costs more, and a longer build makes
more of them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SHARE = 0.005  # of the time between writes spent writing, at most (lock and manifest: 1 % together)


class Pace:
    def __init__(self, clock: Callable[[], float] = time.monotonic, share: float = SHARE) -> None:
        self.clock = clock
        self.share = share
        self.written_at: float | None = None  # None: never written, so due at once
        self.cost = 0.0  # seconds the last write took

    def due_in(self, every: float) -> float:
        """Seconds until the next write is due (0: now)."""
        if self.written_at is None:
            return 0.0
        wait = max(every, self.cost / self.share)
        return max(0.0, self.written_at + wait - self.clock())

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write: how long it took, and when it ended."""
        start = self.clock()
        yield
        self.written_at = self.clock()
        self.cost = self.written_at - start
