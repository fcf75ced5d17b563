"""What the build engine needs from a backend.

A backend has an identity (it enters every key, so one backend's results never
pass for another's) and one worker, asked once: a remote job runner (prepare,
create, status, download, close; results enter shots.lock) or a local renderer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Final, NamedTuple, Protocol

from shotbuild.errors import ShotbuildError
from shotbuild.request import Body, Request
from shotbuild.spec.model import Shot
from shotbuild.status import RemoteState


class JobStatus(NamedTuple):
    """A remote job's state, and what came with it."""

    state: RemoteState
    video_url: str | None = None
    duration: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class JobRunner(Protocol):
    """A paid, slow remote job. Every call may raise ShotbuildError subclasses."""

    async def prepare(self, shot: Shot, root: Path, on_upload: Callable[[], None]) -> Body:
        """The create body for a shot (uploads local files first, once per content)."""

    async def create(self, body: Body, idempotency_key: str) -> str:
        """Send the create request; return the video_id. A 429 raises RateLimitedError
        at once (not retried here): the build lowers its concurrency and waits."""

    async def status(self, video_id: str) -> JobStatus:
        """One job's status; JobGone when the API does not know it."""

    async def statuses(self, video_ids: Sequence[str]) -> dict[str, JobStatus]:
        """Many jobs' statuses in as few calls as the API allows, by video_id. An ID
        left out of the answer is to be asked alone with status() (a backend with no
        batched call answers {})."""

    async def download(
        self, url: str, out: IO[bytes], on_progress: Callable[[int], None] | None
    ) -> int: ...

    async def close(self) -> None: ...


RenderCall = tuple[Callable[..., None], tuple[Any, ...]]


class LocalRenderer(Protocol):
    """A local, free render run in worker processes."""

    def render_call(self, shot: Shot, request: Request, root: Path, out: Path) -> RenderCall:
        """A picklable function and its arguments that render `request` to `out`."""


class Remote:
    """Shots become paid remote jobs; results enter shots.lock."""

    __slots__ = ("jobs",)

    def __init__(self, jobs: JobRunner) -> None:
        self.jobs: Final = jobs


class Local:
    """Shots are rendered here, for free; results stay out of shots.lock."""

    __slots__ = ("renderer",)

    def __init__(self, renderer: LocalRenderer) -> None:
        self.renderer: Final = renderer


Worker = Remote | Local


class Backend(Protocol):
    name: str  # "heygen" | "preview"
    identity: str  # enters every key: the API origin, or "preview:<version>"
    subdir: str  # outputs go to <build_dir>/<subdir>/<shot>.mp4 ("" for the build dir)

    def check_ready(self) -> None:
        """Raise a ShotbuildError saying what is missing (a key, an extra) before any work."""

    def worker(self, *, timeout: float | None = None) -> Worker:
        """How this backend realises a shot; asked once, at the start of a plan or build.
        `timeout` bounds any one download (a build's whole timeout)."""


def is_remote(backend: Backend) -> bool:
    """Results are paid jobs recorded in shots.lock (HeyGen), not local renders."""
    return isinstance(backend.worker(), Remote)


class LinkExpiredError(ShotbuildError):
    """A video_url no longer works: fetch the status again for a fresh one."""


class DownloadBrokeOff(ShotbuildError):
    """A download failed on the way (connection dropped, timed out): start it again."""


class RateLimitedError(ShotbuildError):
    """The API refused a create for now (too many jobs in flight)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# the failure_code recorded for a create refused for want of credit (nothing rendered)
NO_CREDIT = "out_of_credit"


class CreateRejected(ShotbuildError):
    """The API refused a create outright (bad request, auth, credit): no job was
    started, so the next attempt needs a new Idempotency-Key. `fatal` stops the
    whole build (e.g. out of credit: no other shot can be paid for either);
    `code` is the failure_code its job record keeps ("rejected", or NO_CREDIT)."""

    def __init__(self, message: str, *, fatal: bool = False, code: str = "rejected") -> None:
        super().__init__(message)
        self.fatal = fatal
        self.code = code


class JobGone(ShotbuildError):
    """The API does not know this video_id (deleted, or another account's)."""
