"""The executor: take a plan and make build/ and shots.lock match the spec.

For each shot, in order: its output is already right -> a local cache blob ->
the shared remote cache -> the lock entry (a fresh video_url for its video_id,
downloaded and verified) -> submit. Nothing here knows about click.

    run.py       build(): the build lock, the plan, the worker chosen once
    executor.py  each shot in its slot to its end; earlier versions into the cache
    slots.py     job slots that shrink on a 429 and grow back
    held.py      a shot's slot, given back once (early: when its render is done)
    jobs.py      a remote job's life: intent, create, poll, download
    poller.py    one poll loop for all jobs in flight (batched statuses, a prior)
    local.py     local renders in worker processes (pool.py: spawned, main hidden)
    restore.py   renders already paid for: local cache, remote cache, lock
    record.py    the Recorder: the one place a render becomes permanent
    shared.py    the shared remote cache, as a build uses it
    options.py   BuildOptions, BuildResult
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shotbuild.build.crash import CRASH_ENV
from shotbuild.build.options import PYTHON_NAMES, BuildOptions, BuildResult, ShotFailed
from shotbuild.build.run import build

if TYPE_CHECKING:
    from shotbuild.build.jobs import RETRY_AFTER_MAX

__all__ = [
    "CRASH_ENV",
    "PYTHON_NAMES",
    "RETRY_AFTER_MAX",
    "BuildOptions",
    "BuildResult",
    "ShotFailed",
    "build",
]


def __getattr__(name: str) -> float:
    """RETRY_AFTER_MAX, from the job engine: imported when asked for (a build with
    nothing to do never imports the engine, see run.py)."""
    if name == "RETRY_AFTER_MAX":
        from shotbuild.build.jobs import RETRY_AFTER_MAX

        return RETRY_AFTER_MAX
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
