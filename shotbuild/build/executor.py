"""The executor: each planned shot, in its slot, to its end (record, restore,
render or resume), then the jobs of earlier versions into the cache. It reads the
plan and never changes it: what becomes permanent goes through the Recorder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from shotbuild.backends.base import JobGone
from shotbuild.build.context import Context
from shotbuild.build.held import HELD, Held
from shotbuild.build.jobs import RemoteJobs
from shotbuild.build.record import Recorder
from shotbuild.build.restore import Restorer
from shotbuild.build.settle import remove_stale_temps, up_to_date
from shotbuild.build.slots import Slots
from shotbuild.errors import ShotbuildError
from shotbuild.plan import Orphan, PlanItem, Removed, Render, Restore, Resume, Settled, Work
from shotbuild.status import Progress
from shotbuild.store.cache import JOB_FAILED, JobRecord


class Renders(Protocol):
    """How the chosen backend realises a shot (remote jobs, or local renders)."""

    async def render(self, item: Render | Resume) -> None: ...

    async def close(self) -> None: ...


def earlier(item: PlanItem) -> str:
    """How a job of an earlier version is named ("a (take 2)" for a shot's unfinished
    new take, which is finished into the cache the same way)."""
    return item.label if isinstance(item, Orphan) else f"{item.name} (earlier version)"


class Executor:
    def __init__(
        self,
        ctx: Context,
        recorder: Recorder,
        renders: Renders,
        restorer: Restorer,
        jobs: RemoteJobs | None,
    ) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.renders = renders
        self.restorer = restorer
        self.jobs = jobs  # remote backends: the jobs of earlier versions are finished

    def settle(self, items: Sequence[PlanItem], folder: Path) -> list[Work]:
        """Do what needs no backend (record, remove); return the shots left to build."""
        result = self.ctx.result
        remove_stale_temps(folder, items)
        work: list[Work] = []
        for item in items:
            match item:
                case Settled():
                    up_to_date(
                        result, self.recorder.manifest, self.recorder.target.rel(item.name), item
                    )
                case Removed():
                    if not self.ctx.options.only:
                        self.recorder.remove(item)
                        result.removed.append(item.name)
                        self.ctx.reporter.shot(item.name, Progress.REMOVED, item.reason)
                case Render() | Resume() | Restore():
                    work.append(item)
                    self.ctx.reporter.shot(item.name, Progress.QUEUED, item.reason)
        return work

    async def run(self, work: list[Work], orphans: list[Orphan], slots: int) -> None:
        import asyncio

        self.ctx.slots = Slots(slots)
        try:
            # jobs already rendering hold their slots first: they count against HeyGen's limit
            await asyncio.gather(
                *(self._orphan(item) for item in orphans), *(self._one(item) for item in work)
            )
        finally:
            await self.renders.close()
        if self.ctx.stopped_by is not None:  # said once, as the build's error
            raise self.ctx.stopped_by

    async def _one(self, item: Work) -> None:
        slots = self.ctx.slot()
        await slots.acquire()
        held = Held(slots)
        HELD.set(held)  # this shot's task only: its render may give the slot back early
        ok = False
        try:
            if self.ctx.stopping and not isinstance(item, Resume):
                self.ctx.result.skipped.append(item.name)
                return
            await self._realise(item)
            ok = True
        except (ShotbuildError, OSError) as e:  # OSError: a full disk, a read-only folder
            if self.ctx.stop_build(e):
                self.ctx.result.skipped.append(item.name)
                return
            message = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) else str(e)
            taken = f"take {item.take}: {message}" if item.label != item.name else message
            self.ctx.result.add_failed(item.name, taken)
            self.ctx.reporter.shot(item.label, Progress.FAILED, message)
            if not self.ctx.options.keep_going:
                self.ctx.stopping = True
        finally:
            await held.give_back(grow=ok)

    async def _realise(self, item: Work) -> None:
        match item:
            case Restore():
                await self.restorer.restore(item)
            case Resume():
                await self.renders.render(item)
            case Render():
                if not await self.restorer.from_remote(item):
                    await self.renders.render(item)

    async def _orphan(self, item: Orphan) -> None:
        """Finish a job of an earlier version of a shot into the cache (result and
        blob, never build/ or the lock), so changing the shot back costs nothing. Its
        failures are recorded and reported, and fail nothing of this build."""
        assert self.jobs is not None, "orphans are planned for remote backends only"
        slots, label, job = self.ctx.slot(), earlier(item), item.job
        await slots.acquire()
        held = Held(slots)
        HELD.set(held)
        ok = False
        try:
            await self.jobs.finish_earlier(item, label)
            self.ctx.result.cached.append(item.name)
            self.ctx.reporter.shot(label, Progress.DONE, "kept in the cache")
            ok = True
        except ShotbuildError as e:
            if not self.ctx.stop_build(e):
                self._orphan_failed(label, job, e)
        except OSError as e:
            self.ctx.reporter.message(f"{label}: {e}")
        finally:
            await held.give_back(grow=ok)

    def _orphan_failed(self, label: str, job: JobRecord, e: ShotbuildError) -> None:
        if isinstance(e, JobGone):
            self.recorder.journal(job.replace(state=JOB_FAILED, failure_code="video_not_found"))
            self.ctx.reporter.message(f"{label}: job {job.video_id} is unknown to the API ({e})")
        else:
            self.ctx.reporter.message(f"{label}: {e}")
