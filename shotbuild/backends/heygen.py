"""The HeyGen backend: an adapter over shotbuild.heygen.HeyGenClient.

Its identity is the API origin, so an emulator's renders never pass for real
ones. `type: file` references are uploaded once through the Assets API; the
asset_id is cached by (origin, content sha256). httpx is imported only when
the API is first needed, so plans and no-op builds never load it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from shotbuild.heygen.bulk import Refusals
    from shotbuild.heygen.drift import Drift, Phase
    from shotbuild.heygen.models import Account, VideoStatus

from shotbuild.backends.base import (
    NO_CREDIT,
    CreateRejected,
    DownloadBrokeOff,
    JobGone,
    JobStatus,
    LinkExpiredError,
    RateLimitedError,
    Remote,
)
from shotbuild.heygen.origin import DEFAULT_BASE_URL, origin_of
from shotbuild.keys import StatCachedHasher
from shotbuild.request import Body, body_of
from shotbuild.spec.model import Reference, Shot
from shotbuild.status import RemoteState
from shotbuild.store.cache import Cache

# The drift handling and the API's errors are imported where the API is used: a
# plan or a no-op build never loads them.


def _job_status(v: VideoStatus, phase: Phase) -> JobStatus:
    from shotbuild.heygen.drift import Phase

    states = {Phase.COMPLETED: RemoteState.COMPLETED, Phase.FAILED: RemoteState.FAILED}
    return JobStatus(
        state=states.get(phase, RemoteState.PENDING),
        video_url=v.video_url,
        duration=v.duration,
        failure_code=v.failure_code,
        failure_message=v.failure_message,
    )


class HeyGenBackend:
    name = "heygen"
    subdir = ""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        cache: Cache | None = None,
        transport: Any = None,
        **client_kw: Any,
    ) -> None:
        self.base_url = base_url
        self.identity = origin_of(base_url)
        self._api_key = api_key
        self._cache = cache
        self._transport = transport
        self._client_kw = client_kw
        self._client: Any = None
        self._uploads: dict[str, asyncio.Future[str]] = {}
        self._drift: Drift | None = None  # one run's handling of HeyGen's API drift
        self._refusals: Refusals | None = None  # origins without GET /v3/videos/statuses
        self._say: Callable[[str], None] = lambda _line: None
        self.download_timeout: float | None = None  # a whole download; the build's --timeout

    @classmethod
    def from_env(
        cls, *, cache: Cache | None = None, transport: Any = None, **client_kw: Any
    ) -> HeyGenBackend:
        from shotbuild.settings import heygen_access

        access = heygen_access()
        return cls(access.base_url, access.api_key, cache=cache, transport=transport, **client_kw)

    @property
    def origin(self) -> str:
        return self.identity

    def listen(self, say: Callable[[str], None]) -> None:
        """Where the notes on HeyGen's drift go (each said once a run)."""
        self._say = say

    @property
    def drift(self) -> Drift:
        """This run's Drift: the type-name fallback remembered per origin in the cache."""
        if self._drift is None:
            from shotbuild.heygen.drift import CacheTypeMemory, DictTypeMemory, Drift, TypeMemory

            memory: TypeMemory = (
                CacheTypeMemory(self._cache) if self._cache is not None else DictTypeMemory()
            )
            self._drift = Drift(self.identity, memory, lambda line: self._say(line))
        return self._drift

    @property
    def refusals(self) -> Refusals:
        if self._refusals is None:
            from shotbuild.heygen.bulk import Refusals

            self._refusals = Refusals(self._cache)
        return self._refusals

    def check_ready(self) -> None:
        if not self._api_key:
            from shotbuild.heygen.errors import MissingApiKey

            raise MissingApiKey(offline_hint=True)

    async def _api(self) -> Any:
        if self._client is None:
            self.check_ready()
            from shotbuild.heygen import HeyGenClient

            kw = dict(self._client_kw)
            if self.download_timeout is not None:
                kw.setdefault("download_timeout", self.download_timeout)
            client = HeyGenClient(
                self._api_key or "", self.base_url, transport=self._transport, **kw
            )
            self._client = await client.__aenter__()
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)

    def worker(self, *, timeout: float | None = None) -> Remote:
        if timeout is not None:
            self.download_timeout = timeout  # no download outlasts the build's timeout
        return Remote(self)

    async def prepare(self, shot: Shot, root: Path, on_upload: Callable[[], None]) -> Body:
        references = [await self._reference(ref, root, on_upload) for ref in shot.references]
        return body_of(shot, references)

    async def _reference(
        self, ref: Reference, root: Path, on_upload: Callable[[], None]
    ) -> dict[str, str]:
        if ref.type == "url":
            return {"type": "url", "url": ref.url or ""}
        if ref.type == "asset_id":
            return {"type": "asset_id", "asset_id": ref.asset_id or ""}
        if ref.type == "base64":
            return {"type": "base64", "media_type": ref.media_type or "", "data": ref.data or ""}
        return {
            "type": "asset_id",
            "asset_id": await self._asset_of(root / (ref.path or ""), root, on_upload),
        }

    async def _asset_of(self, path: Path, root: Path, on_upload: Callable[[], None]) -> str:
        """The asset_id of a local file: from the cache, else uploaded once per content
        (shots sharing a file that just changed wait for the one upload)."""
        import asyncio

        cache = self._cache or Cache()
        sha = StatCachedHasher(cache.stat_load, cache.stat_save, root=root)(path)
        asset_id = cache.asset_id(self.identity, sha)
        if asset_id is not None:
            return asset_id
        upload = self._uploads.get(sha)
        if upload is None:
            on_upload()
            upload = self._uploads[sha] = asyncio.ensure_future(
                self._upload(path, root, sha, cache)
            )
        try:
            return await asyncio.shield(upload)
        finally:
            if upload.done():
                self._uploads.pop(sha, None)

    async def _upload(self, path: Path, root: Path, sha: str, cache: Cache) -> str:
        api = await self._api()
        asset = await api.upload_asset(path, root=root)
        asset_id = str(asset.asset_id)
        cache.put_asset_id(self.identity, sha, asset_id)
        return asset_id

    async def read_account(self) -> Account | None:
        """GET /v3/users/me (None: it could not be read; a rejected key is raised)."""
        from shotbuild.heygen.account import read_account

        return await read_account(await self._api())

    async def create(self, body: Body, idempotency_key: str) -> str:
        from shotbuild.heygen import errors

        api = await self._api()
        try:
            # a 429 comes straight back: the build paces its creates (its job slots)
            created = await self.drift.create(
                api, body, idempotency_key=idempotency_key, retry_429=False
            )
        except errors.RateLimited as e:
            raise RateLimitedError(str(e), e.retry_after) from e
        except (errors.InvalidRequest, errors.NotFound) as e:
            raise CreateRejected(str(e)) from e
        except errors.AuthError as e:
            raise CreateRejected(str(e), fatal=True) from e
        except errors.CreditError as e:
            raise CreateRejected(str(e), fatal=True, code=NO_CREDIT) from e
        return str(created.video_id)

    async def status(self, video_id: str) -> JobStatus:
        from shotbuild.heygen import errors
        from shotbuild.heygen.drift import Phase

        api = await self._api()
        try:
            v = await api.get_video(video_id)
        except errors.NotFound as e:
            raise JobGone(str(e)) from e
        phase = self.drift.phase(v.status)
        if phase is Phase.GONE:
            raise JobGone(f"HeyGen no longer knows video {video_id} (status not_found)")
        return _job_status(v, phase)

    async def statuses(self, video_ids: Sequence[str]) -> dict[str, JobStatus]:
        """Up to 100 jobs in one GET /v3/videos/statuses. Left out (to be asked alone):
        an ID the answer lacks or calls not_found (a job just made may not be listed
        yet; alone, a 404 says for sure), and all of them when fewer than two are
        asked or the origin has no such endpoint (404/405: remembered per origin)."""
        from shotbuild.heygen import bulk, errors

        if len(video_ids) < 2 or self.refusals.holds(self.identity):
            return {}
        api = await self._api()
        try:
            found = await api.video_statuses(video_ids)
        except errors.ApiError as e:
            if not bulk.refused(e):
                raise
            self.refusals.remember(self.identity)
            self._say(
                f"{self.identity} has no GET /v3/videos/statuses ({e.status}): asking each"
                " job alone (remembered for a day)"
            )
            return {}
        from shotbuild.heygen.drift import Phase

        phases = {i: self.drift.phase(v.status) for i, v in found.items()}
        return {
            i: _job_status(v, phases[i]) for i, v in found.items() if phases[i] is not Phase.GONE
        }

    async def download(
        self, url: str, out: IO[bytes], on_progress: Callable[[int], None] | None
    ) -> int:
        from shotbuild.heygen import errors

        api = await self._api()
        try:
            return int(await api.download(url, out, on_progress=on_progress))
        except errors.LinkExpired as e:
            raise LinkExpiredError(str(e)) from e
        except errors.NetworkError as e:
            raise DownloadBrokeOff(str(e)) from e
