"""Restoring a render already paid for, instead of rendering it: from the local
blob cache, the shared remote cache, or the lock (a fresh video_url for its
video_id, downloaded and verified). A locked render the API no longer has is
rendered again only with `rerender_missing` (the new video is not the approved one)."""

from __future__ import annotations

from shotbuild.backends.base import JobGone
from shotbuild.build.context import Context
from shotbuild.build.jobs import RemoteJobs
from shotbuild.build.options import ShotFailed
from shotbuild.build.record import Recorder
from shotbuild.plan import Render, Restore, ShotItem, seconds_of
from shotbuild.status import Progress
from shotbuild.store.lock import LockEntry


class Restorer:
    def __init__(self, ctx: Context, recorder: Recorder, jobs: RemoteJobs | None) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.shared = recorder.shared
        self.jobs = jobs  # None: a local backend (its restores never download)

    async def restore(self, item: Restore) -> None:
        entry = item.result  # keyed by the planner with the shot's key
        source = item.source  # "cache", "lock" or "output"
        fetched = False
        if source == "lock":
            if await self.shared.blob(entry.sha256):
                source = "remote cache"
            else:
                if not await self._download(item, entry):
                    return
                fetched = True
        # the next machine gets it from the remote cache
        await self.recorder.record(item, entry, share=fetched or source == "cache")
        self.ctx.result.add_restored(item.name)
        self.ctx.reporter.shot(item.label, Progress.RESTORED, source)

    async def _download(self, item: Restore, entry: LockEntry) -> bool:
        """The locked render downloaded again; False when it was rendered anew instead."""
        if self.jobs is None:
            raise ShotFailed(f"{item.name}: a local render cannot be downloaded")
        try:
            await self.jobs.fetch(item.label, entry.video_id, expect=entry.sha256)
        except JobGone:
            await self._render_missing(item, entry, self.jobs)
            return False
        return True

    async def from_remote(self, item: Render) -> bool:
        """Restore a shot another machine already paid for, instead of rendering it."""
        if item.forced or (item.take != 1 and not item.wanted):
            return False
        seen = None  # a result must agree with the lock (a wanted take is not in it)
        if not item.wanted:
            locked = self.recorder.picked(item.name)
            seen = locked.video_id if locked is not None and locked.key == item.key else None
        entry = await self.shared.pull(item.job_key, seen)  # a take by its own key
        if entry is None:
            return False
        await self.recorder.record(item, entry)
        self.ctx.result.add_restored(item.name)
        self.ctx.reporter.shot(item.label, Progress.RESTORED, "remote cache")
        return True

    async def _render_missing(self, item: ShotItem, entry: LockEntry, jobs: RemoteJobs) -> None:
        """The locked render is gone from the API (404) and from the remote cache:
        render it again only when the user allows it, since the new video is not the
        one the team approved."""
        where = "nor in the remote cache" if self.shared.remote else "and no remote cache is set"
        gone = f"HeyGen no longer has the locked render {entry.video_id} (404) {where}"
        if not self.ctx.options.rerender_missing:
            raise ShotFailed(
                f"{gone}; {self.ctx.named('rerender_missing')} renders it again"
                " (a new video, not the approved one)"
            )
        seconds = seconds_of(item.shot)
        if self.ctx.budget is not None:
            if seconds > self.ctx.budget:
                raise ShotFailed(
                    f"{gone}; rendering it again would go over {self.ctx.named('max_seconds')}"
                )
            self.ctx.budget -= seconds
        allowed = self.ctx.named("rerender_missing")
        self.ctx.reporter.message(f"{item.name}: {gone}: rendering it again ({allowed})")
        await jobs.render_again(item)
