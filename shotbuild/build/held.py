"""A shot's hold on a job slot, given back once: by the executor when the shot ends,
or earlier by the remote job as soon as its render is seen done (HeyGen counts a
job against its limit while it renders, not while shotbuild downloads and records
it), so the next create need not wait for this shot's download and bookkeeping."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from shotbuild.build.slots import Slots


@dataclass
class Held:
    """A shot's job slot, given back once."""

    slots: Slots
    given_back: bool = False

    async def give_back(self, *, grow: bool) -> None:
        """Release the slot, once (a second call does nothing)."""
        if not self.given_back:
            self.given_back = True
            await self.slots.release(grow=grow)


# the hold of the shot this task runs (each shot of the executor runs in its own task)
HELD: ContextVar[Held | None] = ContextVar("shotbuild_held_slot", default=None)


async def render_done() -> None:
    """The current shot's render is done at the API: give its slot back now."""
    held = HELD.get()
    if held is not None:
        await held.give_back(grow=True)
