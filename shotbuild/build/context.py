"""What every part of one running build shares: its options, where it reports,
its clock, its result so far, and whether it is stopping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from shotbuild.build.options import PYTHON_NAMES, BuildOptions, BuildResult
from shotbuild.build.slots import Slots
from shotbuild.errors import ShotbuildError, whole_build_error
from shotbuild.progress import Reporter
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache

Sleep = Callable[[float], Awaitable[None]]


async def real_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


class Context:
    """The state one running build shares between its parts."""

    __slots__ = (
        "budget", "cache", "clock", "names", "options", "reporter", "result", "sleep", "slots",
        "spec", "stopped_by", "stopping",
    )  # fmt: skip

    def __init__(
        self,
        spec: Spec,
        options: BuildOptions,
        cache: Cache,
        reporter: Reporter,
        result: BuildResult,
        sleep: Sleep = real_sleep,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.spec = spec
        self.options = options
        self.cache = cache
        self.reporter = reporter
        self.result = result
        self.sleep = sleep
        self.clock = clock
        self.budget: float | None = None  # seconds --max-seconds leaves for re-renders
        self.stopping = False  # a failure without --keep-going: start no new shot
        # an error of the whole build (a rejected key)
        self.stopped_by: ShotbuildError | None = None
        self.slots: Slots | None = None  # set when the event loop runs
        self.names: Mapping[str, str] = PYTHON_NAMES

    def named(self, option: str) -> str:
        """How the caller names a BuildOptions field (a CLI flag, or the keyword)."""
        return self.names.get(option, option)

    def stop_build(self, error: BaseException) -> bool:
        """Stop the whole build when `error` is the build's, not one shot's (e.g. a
        rejected API key: said once, not once per shot); True when it is."""
        stopper = whole_build_error(error)
        if stopper is None:
            return False
        self.stopping = True
        if self.stopped_by is None:
            self.stopped_by = stopper
        return True

    def slot(self) -> Slots:
        assert self.slots is not None, "slots are made when the build's loop starts"
        return self.slots
