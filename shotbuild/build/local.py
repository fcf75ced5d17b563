"""Shots rendered here, for free, in worker processes (the preview backend)."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from shotbuild.backends.base import LocalRenderer
from shotbuild.build.context import Context
from shotbuild.build.record import Recorder, entry_of
from shotbuild.keys import sha256_file
from shotbuild.plan import ShotItem, seconds_of
from shotbuild.spec.model import DEFAULT_DURATION
from shotbuild.status import Progress

if TYPE_CHECKING:
    from concurrent.futures import Executor


def workers(jobs: int) -> int:
    """Local renders are CPU-bound: one process per core at most."""
    return max(1, min(jobs, os.cpu_count() or 1))


class LocalRenders:
    def __init__(self, ctx: Context, recorder: Recorder, renderer: LocalRenderer, name: str):
        self.ctx = ctx
        self.recorder = recorder
        self.renderer = renderer
        self.name = name  # the backend's name, the "video_id" of a local render
        self.pool: Executor | None = None

    async def render(self, item: ShotItem) -> None:
        tmp = self.ctx.cache.temp_file(".mp4")
        try:
            fn, args = self.renderer.render_call(item.shot, item.request, self.ctx.spec.root, tmp)
            self.ctx.reporter.shot(item.label, Progress.RENDERING)
            import asyncio

            await asyncio.get_running_loop().run_in_executor(self._pool(), fn, *args)
            sha, size = sha256_file(tmp), tmp.stat().st_size
            self.ctx.cache.adopt_blob(tmp, sha)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        seconds = seconds_of(item.shot, DEFAULT_DURATION)  # auto_duration previews are 10 s
        identity = self.recorder.target.identity
        await self.recorder.record(
            item, entry_of(item.key, self.name, sha, size, seconds, identity)
        )
        self.ctx.result.add_built(item.name)
        self.ctx.result.seconds += seconds
        self.ctx.reporter.shot(item.label, Progress.DONE)

    def _pool(self) -> Executor:
        if self.pool is None:
            from shotbuild.build.pool import process_pool

            self.pool = process_pool(workers(self.ctx.options.jobs))
        return self.pool

    async def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
