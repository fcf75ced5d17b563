"""The one HTTP layer between shotbuild and HeyGen: an async httpx client holding
the policy (base URL, key, timeouts, retries) with `transport=` as the test seam.
Third-party errors are translated here, at the boundary, into heygen.errors."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import os
import random as _random
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote

import anyio
import httpx

from shotbuild import __version__
from shotbuild.errors import ShotbuildError
from shotbuild.heygen import bulk, errors
from shotbuild.heygen.errors import ApiError, AuthError, LinkExpired, MissingApiKey, NetworkError
from shotbuild.heygen.models import (
    Account,
    Asset,
    CreatedVideo,
    Look,
    VideoStatus,
    WebhookEndpoint,
)
from shotbuild.heygen.origin import DEFAULT_BASE_URL, origin_of
from shotbuild.heygen.retry import Clock, Retrier, RetryPolicy, Sleep
from shotbuild.untrusted import BadValue, add_secret, load_json, redact

MULTIPART_LIMIT = 32 * 1024 * 1024  # POST /v3/assets takes at most this; above: direct upload
LOOKS_PAGE = 50  # the API's maximum page size for looks
MAX_LOOKS_PAGES = 200  # 10,000 looks: an answer that pages on and on is not believed
MAX_ANSWER_BYTES = 4 << 20  # no JSON answer of the API comes near this
# A whole download ends within DOWNLOAD_TIMEOUT (the build sets it from --timeout),
# and each STALL_SECONDS must bring STALL_BYTES, so a drip of bytes cannot hold a slot.
DOWNLOAD_TIMEOUT = 30 * 60.0
STALL_SECONDS = 30.0
STALL_BYTES = 64 << 10
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]"})

# Creates have been seen near 30 s at p99; reads answer within 2 s.
CREATE_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
READ_TIMEOUT = httpx.Timeout(20.0, connect=10.0)
TRANSFER_TIMEOUT = httpx.Timeout(60.0, connect=10.0, write=120.0)  # uploads, downloads

_API_KEY = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no white space
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_\-:.]{1,255}")
_EXPIRED = frozenset({403, 404, 410})


def normalise_origin(base_url: str) -> tuple[httpx.URL, str]:
    """(parsed base URL, origin as scheme://host[:port] with default ports dropped)."""
    origin = origin_of(base_url)
    try:
        return httpx.URL(base_url.strip()), origin
    except httpx.InvalidURL as e:
        raise ApiError(f"the HeyGen base URL {base_url!r} is not a URL ({e})") from e


class HeyGenClient:
    """Async client for the HeyGen v3 endpoints shotbuild uses. Use as
    `async with HeyGenClient.from_env() as client: ...`."""

    multipart_limit = MULTIPART_LIMIT

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        random: Callable[[], float] = _random.random,
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool | None = None,
        download_timeout: float = DOWNLOAD_TIMEOUT,
    ) -> None:
        if not api_key:
            raise MissingApiKey()
        if not _API_KEY.fullmatch(api_key):  # httpx would quote a bad header value in errors
            raise AuthError(
                "HEYGEN_API_KEY contains spaces, quotes or other characters no key has: "
                "copy it again from your HeyGen account settings"
            )
        self._key = api_key
        add_secret(api_key)
        url, self._origin = normalise_origin(base_url)
        refuse_plain_http(self._origin, allow_insecure_http)
        self.download_timeout = download_timeout
        self.stall_seconds, self.stall_bytes = STALL_SECONDS, STALL_BYTES
        self._clock = clock
        self._base_url = str(url).rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            headers={"User-Agent": f"shotbuild/{__version__}"},
            timeout=READ_TIMEOUT,
            transport=transport,
            follow_redirects=False,  # a redirect must never carry the key elsewhere
        )
        self._retrier = Retrier(
            retry or RetryPolicy(),
            sleep=sleep,
            clock=clock,
            wall_clock=wall_clock,
            random=random,
            origin=self._origin,
        )

    @classmethod
    def from_env(
        cls, *, transport: httpx.AsyncBaseTransport | None = None, **kw: Any
    ) -> HeyGenClient:
        """A client for HEYGEN_API_KEY at HEYGEN_BASE_URL (default https://api.heygen.com)."""
        from shotbuild.settings import heygen_access

        access = heygen_access()
        if not access.api_key:
            raise MissingApiKey()
        return cls(access.api_key, access.base_url, transport=transport, **kw)

    @property
    def origin(self) -> str:
        """scheme://host[:port] of the API: part of every shot's key."""
        return self._origin

    @property
    def base_url(self) -> str:
        return self._base_url

    def __repr__(self) -> str:
        return f"HeyGenClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> HeyGenClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- endpoints ---------------------------------------------------------------

    async def create_video(
        self, body: Mapping[str, Any], *, idempotency_key: str, retry_429: bool = True
    ) -> CreatedVideo:
        """POST /v3/videos with the full body (including "type"). Always idempotent:
        a retry carries the same key, so HeyGen replays rather than bills twice.
        `retry_429=False` raises RateLimited (with its .retry_after) at the first 429,
        for a caller that schedules the wait itself (the build's job slots)."""
        if not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ValueError("idempotency_key must be 1-255 characters of A-Za-z0-9_-:.")
        doc = await self._api(
            "POST",
            "/v3/videos",
            json=dict(body),
            idempotency_key=idempotency_key,
            timeout=CREATE_TIMEOUT,
            retry_429=retry_429,
        )
        return CreatedVideo.from_api(_data(doc, "POST /v3/videos"))

    async def get_video(self, video_id: str) -> VideoStatus:
        """GET /v3/videos/{id}: status, and a fresh presigned video_url once completed."""
        doc = await self._api("GET", f"/v3/videos/{quote(video_id, safe='')}")
        return VideoStatus.from_api(_data(doc, "GET /v3/videos/{id}"))

    async def get_account(self) -> Account:
        """GET /v3/users/me: who the key belongs to and how (and whether) it can pay.
        Every field of the answer may be missing: what cannot be read is None."""
        doc = await self._api("GET", "/v3/users/me")
        return Account.from_api(_data(doc, "GET /v3/users/me"))

    async def video_statuses(self, video_ids: Sequence[str]) -> dict[str, bulk.BulkStatus]:
        """GET /v3/videos/statuses: up to 100 jobs' statuses in one call, by video ID
        (an ID the answer leaves out is left out here; ask for it with get_video)."""
        ids = bulk.check_ids(video_ids)
        doc = await self._api("GET", "/v3/videos/statuses", params={"video_ids": ",".join(ids)})
        return bulk.parse(doc, ids)

    async def list_looks(self, *, ownership: str | None = None) -> list[Look]:
        """Every avatar look (following next_token through all pages)."""
        action = "GET /v3/avatars/looks"
        looks: list[Look] = []
        seen: set[str] = set()
        token: str | None = None
        for _ in range(MAX_LOOKS_PAGES):
            params: dict[str, str | int] = {"limit": LOOKS_PAGE}
            if ownership:
                params["ownership"] = ownership
            if token:
                params["token"] = token
            doc = await self._api("GET", "/v3/avatars/looks", params=params)
            items = doc.get("data")
            if not isinstance(items, list):
                raise errors.bad_answer(action, "'data' is not a list")
            looks.extend(Look.from_api(item) for item in items if isinstance(item, dict))
            token = doc.get("next_token") if doc.get("has_more") else None
            if not isinstance(token, str) or not token:
                return looks
            if token in seen:
                raise errors.bad_answer(action, "the same next_token came back twice")
            seen.add(token)
        raise errors.bad_answer(action, f"it still had more after {MAX_LOOKS_PAGES} pages")

    async def upload_asset(
        self, path: Path, *, content_type: str | None = None, root: Path | None = None
    ) -> Asset:
        """Upload a local file: multipart up to 32 MB, the direct-upload flow above.
        The file is opened without following links below `root` (default: its
        folder) and must be a regular file at the moment it is read."""
        try:
            with _open(path, root) as f:
                size = os.fstat(f.fileno()).st_size
        except OSError as e:
            raise ShotbuildError(f"cannot read {path}: {e.strerror}: check the path") from e
        mime = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if size <= self.multipart_limit:
            content = await anyio.to_thread.run_sync(_read_bytes, path, root)
            doc = await self._api(
                "POST",
                "/v3/assets",
                files={"file": (path.name, content, mime)},
                timeout=TRANSFER_TIMEOUT,
            )
            return Asset.from_api(_data(doc, "POST /v3/assets"))
        return await self._direct_upload(path, mime, size, root)

    async def _direct_upload(
        self, path: Path, mime: str, size: int, root: Path | None = None
    ) -> Asset:
        digest = await anyio.to_thread.run_sync(_sha256_file, path, root)
        action = "POST /v3/assets/direct-uploads"
        doc = await self._api(
            "POST",
            "/v3/assets/direct-uploads",
            json={
                "filename": path.name,
                "content_type": mime,
                "size_bytes": size,
                "checksum_sha256": digest,
            },
        )
        slot = _data(doc, action)
        asset_id, upload_url = slot.get("asset_id"), slot.get("upload_url")
        if not isinstance(asset_id, str) or not isinstance(upload_url, str):
            raise errors.bad_answer(action, "no asset_id or upload_url")
        given = slot.get("upload_headers")
        headers = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
        headers.setdefault("Content-Type", mime)
        headers.setdefault("Content-Length", str(size))

        async def put() -> httpx.Response:  # to storage, not the API: no key
            return await self._http.put(
                upload_url,
                content=_file_chunks(path, root),
                headers=headers,
                timeout=TRANSFER_TIMEOUT,
            )

        with self._redacting():
            await self._retrier.run(put, action="PUT upload_url")
        complete = f"/v3/assets/{quote(asset_id, safe='')}/complete"
        done = _data(await self._api("POST", complete), f"POST {complete}")
        merged = {"asset_id": asset_id, "mime_type": mime, "size_bytes": size, **done}
        return Asset.from_api(merged, f"POST {complete}")

    async def download(
        self,
        url: str,
        out: IO[bytes],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Stream a presigned `video_url` into `out` (without the API key); the bytes
        written. Raises LinkExpired on 403/404: fetch the status again for a new URL.
        A download that breaks off starts over (when `out` is seekable); `on_progress`
        gets each chunk's size, and minus the bytes taken back when it starts over."""
        start = out.tell() if out.seekable() else None
        written = 0
        stall = _Stall(self._clock, self.stall_seconds, self.stall_bytes)

        async def attempt() -> httpx.Response:
            nonlocal written
            if written and on_progress is not None:
                on_progress(-written)  # starting over: take back the broken attempt's bytes
            written = 0
            stall.restart()
            timeout = httpx.Timeout(60.0, connect=10.0, read=self.stall_seconds)
            async with self._http.stream(
                "GET", url, timeout=timeout, follow_redirects=True
            ) as response:
                if response.status_code in _EXPIRED:
                    raise LinkExpired(
                        f"the video link answered {response.status_code}: it has expired; "
                        "ask for the video's status again to get a fresh link",
                        status=response.status_code,
                    )
                if response.status_code >= 400:
                    await response.aread()
                    return response
                if start is not None:
                    out.seek(start)
                    out.truncate()
                try:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        written += len(chunk)
                        stall.check(len(chunk), written)
                        if on_progress is not None:
                            on_progress(len(chunk))
                except httpx.TransportError:
                    if start is None and written:
                        raise NetworkError(
                            f"the download broke off after {written} bytes: run again"
                        ) from None
                    raise
            return response

        with self._redacting():
            try:
                with anyio.fail_after(self.download_timeout):
                    await self._retrier.run(attempt, action="GET video_url")
            except TimeoutError:
                raise NetworkError(
                    f"the download did not finish within {self.download_timeout:g} s"
                    f" ({written} bytes came): run again, or raise --timeout"
                ) from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                raise errors.bad_answer("GET video_url", f"not a usable URL: {e}") from e
        return written

    async def create_webhook_endpoint(self, url: str, events: Sequence[str]) -> WebhookEndpoint:
        """Register `url` for `events` (e.g. avatar_video.success, avatar_video.fail)."""
        doc = await self._api(
            "POST",
            "/v3/webhooks/endpoints",
            json={"url": url, "events": list(events)},
            idempotency_key=f"shotbuild-webhook-{uuid.uuid4().hex}",
        )
        return WebhookEndpoint.from_api(_data(doc, "POST /v3/webhooks/endpoints"))

    # -- plumbing ----------------------------------------------------------------

    async def _api(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        timeout: httpx.Timeout = READ_TIMEOUT,
        retry_429: bool = True,
        **kw: Any,
    ) -> dict[str, Any]:
        """One API call with retries; the decoded JSON document of a 2xx answer."""
        action = f"{method} {path}"
        headers = {"x-api-key": self._key, "Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key

        def send() -> Awaitable[httpx.Response]:
            return self._http.request(method, path, headers=headers, timeout=timeout, **kw)

        with self._redacting():
            response = await self._retrier.run(
                send, action=action, create=idempotency_key is not None, retry_429=retry_429
            )
            try:
                # numbers are checked per field (models); only absurd lengths stop here
                doc = load_json(response.content, max_bytes=MAX_ANSWER_BYTES, max_digits=64)
            except ValueError:
                raise errors.bad_answer(action, "not JSON") from None
            except BadValue as e:
                raise errors.bad_answer(action, f"not JSON we accept: {e}") from None
            if not isinstance(doc, dict):
                raise errors.bad_answer(action, "not a JSON object")
            return doc

    @contextlib.contextmanager
    def _redacting(self) -> Iterator[None]:
        """Last guard: no error leaving the client carries the key, even if echoed."""
        try:
            yield
        except ShotbuildError as e:
            text = str(e)
            if redact(text) != text:
                e.args = (redact(text),)
            raise


def refuse_plain_http(origin: str, allow: bool | None = None) -> None:
    """Plain http to a host other than this machine would send the key in clear
    text: refuse unless allowed (`allow`, else SHOTBUILD_ALLOW_INSECURE_HTTP=1, read by
    shotbuild.settings)."""
    scheme, _, host = origin.partition("://")
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if scheme != "http" or host in _LOOPBACK or host.startswith("127."):
        return
    from shotbuild.settings import ENV_ALLOW_HTTP, allow_insecure_http

    if not (allow_insecure_http() if allow is None else allow):
        raise ApiError(
            f"HEYGEN_BASE_URL {origin} is plain http to another machine: the API key would"
            f" travel unencrypted; use https, or set {ENV_ALLOW_HTTP}=1 if you mean it"
        )


class _Stall:
    """Fails a download that brings fewer than `need` bytes in any `window` seconds."""

    def __init__(self, clock: Clock, window: float, need: int) -> None:
        self._clock, self._window, self._need = clock, window, need
        self._since, self._got = clock(), 0

    def restart(self) -> None:
        self._since, self._got = self._clock(), 0

    def check(self, size: int, written: int) -> None:
        self._got += size
        if self._got >= self._need:
            self.restart()
        elif self._clock() - self._since > self._window:
            raise NetworkError(
                f"the download stalled: {self._got} bytes in {self._window:g} s"
                f" after {written} bytes; run again"
            )


def _data(doc: Mapping[str, Any], action: str) -> dict[str, Any]:
    data = doc.get("data")
    if not isinstance(data, dict):
        raise errors.bad_answer(action, "no 'data' object")
    return data


def _open(path: Path, root: Path | None) -> IO[bytes]:
    from shotbuild.fs import open_regular

    return open_regular(path, root)


def _read_bytes(path: Path, root: Path | None = None) -> bytes:
    try:
        with _open(path, root) as f:
            return f.read()
    except OSError as e:
        raise ShotbuildError(f"cannot read {path}: {e.strerror}: check the path") from e


def _sha256_file(path: Path, root: Path | None = None) -> str:
    digest = hashlib.sha256()
    with _open(path, root) as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


async def _file_chunks(
    path: Path, root: Path | None = None, size: int = 1 << 20
) -> AsyncIterator[bytes]:
    with _open(path, root) as f:
        while block := await anyio.to_thread.run_sync(f.read, size):
            yield block
