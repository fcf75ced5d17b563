"""The HeyGen backend: an adapter over shotbuild.heygen.HeyGenClient.

Its identity is the API origin, so an emulator's renders never pass for real
ones. `type: file` references are uploaded once through the Assets API; the
asset_id is cached by (origin, content sha256). httpx is imported only when
the API is first needed, so plans and no-op builds never load it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from shotbuild.backends.base import (
    CreateRejected,
    DownloadBrokeOff,
    JobGone,
    JobStatus,
    LinkExpiredError,
    RateLimitedError,
)
from shotbuild.heygen.errors import MissingApiKey
from shotbuild.heygen.origin import DEFAULT_BASE_URL, origin_of
from shotbuild.keys import StatCachedHasher
from shotbuild.spec.model import Reference, Shot
from shotbuild.store.cache import Cache


class HeyGenBackend:
    name = "heygen"
    uses_lock = True
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

    def check_ready(self) -> None:
        if not self._api_key:
            raise MissingApiKey()

    async def _api(self) -> Any:
        if self._client is None:
            self.check_ready()
            from shotbuild.heygen import HeyGenClient

            client = HeyGenClient(
                self._api_key or "", self.base_url, transport=self._transport, **self._client_kw
            )
            self._client = await client.__aenter__()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)

    async def prepare(self, shot: Shot, root: Path, on_upload: Callable[[], None]) -> Any:
        body: dict[str, Any] = {
            "type": shot.api_type,
            "prompt": shot.prompt.strip(),
            "avatar_id": list(shot.avatar_id),
            "aspect_ratio": shot.aspect_ratio,
            "resolution": shot.resolution,
            "enhance_prompt": shot.enhance_prompt,
        }
        if shot.auto_duration:
            body["auto_duration"] = True
        else:
            body["duration"] = shot.duration
        if shot.references:
            body["references"] = [
                await self._reference(ref, root, on_upload) for ref in shot.references
            ]
        if shot.title is not None:
            body["title"] = shot.title
        if shot.callback_url is not None:
            body["callback_url"] = shot.callback_url
        return body

    async def _reference(
        self, ref: Reference, root: Path, on_upload: Callable[[], None]
    ) -> dict[str, str]:
        if ref.type == "url":
            return {"type": "url", "url": ref.url or ""}
        if ref.type == "asset_id":
            return {"type": "asset_id", "asset_id": ref.asset_id or ""}
        if ref.type == "base64":
            return {"type": "base64", "media_type": ref.media_type or "", "data": ref.data or ""}
        path = root / (ref.path or "")
        cache = self._cache or Cache()
        sha = StatCachedHasher(cache.stat_load, cache.stat_save)(path)
        asset_id = cache.asset_id(self.identity, sha)
        if asset_id is None:
            on_upload()
            api = await self._api()
            asset = await api.upload_asset(path)
            asset_id = str(asset.asset_id)
            cache.put_asset_id(self.identity, sha, asset_id)
        return {"type": "asset_id", "asset_id": asset_id}

    async def create(self, body: Any, idempotency_key: str) -> str:
        from shotbuild.heygen import errors

        api = await self._api()
        try:
            # a 429 comes straight back: the build paces its creates (its job slots)
            created = await api.create_video(body, idempotency_key=idempotency_key, retry_429=False)
        except errors.RateLimited as e:
            raise RateLimitedError(str(e), e.retry_after) from e
        except (errors.InvalidRequest, errors.NotFound) as e:
            raise CreateRejected(str(e)) from e
        except (errors.AuthError, errors.CreditError) as e:
            raise CreateRejected(str(e), fatal=True) from e
        return str(created.video_id)

    async def status(self, video_id: str) -> JobStatus:
        from shotbuild.heygen import errors

        api = await self._api()
        try:
            v = await api.get_video(video_id)
        except errors.NotFound as e:
            raise JobGone(str(e)) from e
        state = v.status if v.status in ("completed", "failed") else "pending"
        return JobStatus(
            state=state,
            video_url=v.video_url,
            duration=v.duration,
            failure_code=v.failure_code,
            failure_message=v.failure_message,
        )

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
