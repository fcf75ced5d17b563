"""Job slots: how many jobs of a build render at once (-j; a remote job gives its slot
back when its render is done, before the download: `held.render_done`)."""

from __future__ import annotations


class Slots:
    """At most `limit` jobs rendering, up to the -j the user asked for. A 429 on a
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
        import asyncio

        async with self.cond:
            try:
                await self.cond.wait_for(self._free)
            except asyncio.CancelledError:
                self._wake()  # a turn it may have been given goes to the next
                raise
            self.active += 1
            self._wake()  # the limit grew, or two slots came free: pass the turn on

    def _free(self) -> bool:
        return self.active < self.limit

    def _wake(self) -> None:
        """Wake one waiter when a slot is free (not every queued shot: each woken
        shot that takes a slot wakes the next while slots are left)."""
        if self._free():
            self.cond.notify(1)

    async def release(self, *, grow: bool = False) -> None:
        async with self.cond:
            self.active -= 1
            if grow and self.limit < self.most:
                self.credit += 1
                if self.credit >= self.limit:
                    self.limit, self.credit = self.limit + 1, 0
            self._wake()

    async def step_back(self) -> None:
        """A 429 on a create: give the slot back and lower the limit to the jobs
        still in flight (at least one), so no other shot sends a create meanwhile."""
        async with self.cond:
            self.active -= 1
            self.limit, self.credit = max(1, min(self.limit, self.active)), 0
            self._wake()

    def alone(self) -> bool:
        """No other shot of this build holds a slot (so no job of ours can free one)."""
        return self.active <= 1
