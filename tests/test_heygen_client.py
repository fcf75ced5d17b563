"""The HeyGen client against a stateful fake API behind httpx.MockTransport: every
error and retry path, with sleep, clock and randomness injected so nothing waits."""

from __future__ import annotations

import datetime
import email.utils
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shotbuild.heygen import (
    ApiError,
    AuthError,
    CreditError,
    HeyGenClient,
    InvalidRequest,
    LinkExpired,
    MissingApiKey,
    NetworkError,
    NotFound,
    RateLimited,
    RequestInProgress,
    RetryPolicy,
    ServerError,
)
from shotbuild.heygen.retry import parse_retry_after

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-0123456789"
NOW = 1_800_000_000.0  # the fake wall clock
BODY = {"type": "avatar_shots", "prompt": "A founder walks.", "avatar_id": ["look_a"]}

Script = Callable[[httpx.Request], httpx.Response]


def err(
    status: int, code: str, message: str = "", param: str | None = None, **kw: Any
) -> httpx.Response:
    error: dict[str, str] = {"code": code, "message": message or code}
    if param:
        error["param"] = param
    return httpx.Response(status, json={"error": error}, **kw)


class FakeHeyGen:
    """A small stateful HeyGen: jobs, idempotent creates, looks, assets, files.
    `script` holds one-shot behaviours consumed by the next requests, in order."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, httpx.Response] = {}  # Idempotency-Key -> first answer
        self.requests: list[httpx.Request] = []
        self.script: list[Script] = []
        self.looks = [
            {"id": f"look_{i}", "name": f"Look {i}", "avatar_type": "photo"} for i in range(7)
        ]
        self.uploads: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            return self.script.pop(0)(request)
        return self.handle(request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if request.url.host == "cdn.example":
            name = path.rsplit("/", 1)[-1]
            return (
                httpx.Response(200, content=self.files[name])
                if name in self.files
                else httpx.Response(404)
            )
        if request.url.host == "storage.example":
            return httpx.Response(200)
        if request.headers.get("x-api-key") != KEY:
            return err(401, "unauthorized", f"Invalid API key {request.headers.get('x-api-key')}")
        if (method, path) == ("POST", "/v3/videos"):
            return self.create(request)
        if method == "GET" and path.startswith("/v3/videos/"):
            job = self.jobs.get(path.rsplit("/", 1)[-1])
            return httpx.Response(200, json={"data": job}) if job else err(404, "video_not_found")
        if (method, path) == ("GET", "/v3/avatars/looks"):
            return self.page_of_looks(request)
        if (method, path) == ("POST", "/v3/assets"):
            return self.multipart(request)
        if (method, path) == ("POST", "/v3/assets/direct-uploads"):
            spec = json.loads(request.content)
            self.uploads["ast_big"] = spec
            return httpx.Response(
                200,
                json={
                    "data": {
                        "asset_id": "ast_big",
                        "upload_url": "https://storage.example/put/ast_big?sig=abc",
                        "upload_headers": {
                            "Content-Type": spec["content_type"],
                            "x-goog-meta": "1",
                        },
                    }
                },
            )
        if (method, path) == ("POST", "/v3/assets/ast_big/complete"):
            return httpx.Response(
                200, json={"data": {"asset_id": "ast_big", "url": "https://cdn.example/ast_big"}}
            )
        if (method, path) == ("POST", "/v3/webhooks/endpoints"):
            spec = json.loads(request.content)
            return httpx.Response(
                200,
                json={
                    "data": {
                        "endpoint_id": "ep_1",
                        "secret": "whsec_x",
                        "status": "enabled",
                        **spec,
                    }
                },
            )
        return err(404, "not_found")

    def create(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["idempotency-key"]
        if key in self.answers:
            return self.answers[key]
        video_id = f"vid_{len(self.jobs) + 1}"
        self.jobs[video_id] = {
            "id": video_id,
            "status": "pending",
            "body": json.loads(request.content),
        }
        answer = httpx.Response(
            200, json={"data": {"video_id": video_id, "status": "pending", "output_format": "mp4"}}
        )
        self.answers[key] = answer
        return answer

    def page_of_looks(self, request: httpx.Request) -> httpx.Response:
        limit = min(int(request.url.params["limit"]), 3)  # the fake pages by 3
        start = int(request.url.params.get("token", "0"))
        page = self.looks[start : start + limit]
        more = start + limit < len(self.looks)
        return httpx.Response(
            200,
            json={
                "data": page,
                "has_more": more,
                "next_token": str(start + limit) if more else None,
            },
        )

    def multipart(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        assert b'name="file"; filename="ref.png"' in body
        return httpx.Response(
            200,
            json={
                "data": {
                    "asset_id": "ast_1",
                    "url": "https://cdn.example/ast_1",
                    "mime_type": "image/png",
                    "size_bytes": 4,
                }
            },
        )


class Harness:
    def __init__(self) -> None:
        self.fake = FakeHeyGen()
        self.sleeps: list[float] = []
        self.rand = 0.5  # no jitter

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **kw: Any) -> HeyGenClient:
        return HeyGenClient(
            KEY,
            "https://api.heygen.test",
            transport=httpx.MockTransport(self.fake),
            sleep=self.sleep,
            clock=lambda: sum(self.sleeps),
            wall_clock=lambda: NOW,
            random=lambda: self.rand,
            **kw,
        )


@pytest.fixture
def h() -> Harness:
    return Harness()


@pytest.fixture
async def client(h: Harness) -> AsyncIterator[HeyGenClient]:
    async with h.client() as c:
        yield c


def keys_of(fake: FakeHeyGen, method: str = "POST") -> list[str | None]:
    return [r.headers.get("idempotency-key") for r in fake.requests if r.method == method]


# -- create ----------------------------------------------------------------------


async def test_create_sends_the_body_key_and_headers(h: Harness, client: HeyGenClient) -> None:
    created = await client.create_video(BODY, idempotency_key="shot-abc:1")
    assert (created.video_id, created.status, created.output_format) == ("vid_1", "pending", "mp4")
    request = h.fake.requests[0]
    assert json.loads(request.content) == BODY
    assert request.headers["x-api-key"] == KEY
    assert request.headers["idempotency-key"] == "shot-abc:1"
    assert request.headers["user-agent"].startswith("shotbuild/")
    assert request.url == "https://api.heygen.test/v3/videos"


async def test_create_dropped_after_acceptance_is_replayed_not_paid_twice(
    h: Harness, client: HeyGenClient
) -> None:
    def accept_then_drop(request: httpx.Request) -> httpx.Response:
        h.fake.handle(request)  # the server did create the job...
        raise httpx.RemoteProtocolError("peer closed connection", request=request)  # ...no answer

    h.fake.script = [accept_then_drop]
    created = await client.create_video(BODY, idempotency_key="k1")
    assert created.video_id == "vid_1"
    assert len(h.fake.jobs) == 1
    assert keys_of(h.fake) == ["k1", "k1"]
    assert h.sleeps == [1.0]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda r: httpx.Response(503, text="busy"), id="503"),
        pytest.param(lambda r: err(500, "internal_error"), id="500"),
    ],
)
async def test_create_retried_on_5xx_with_the_same_key(
    h: Harness, client: HeyGenClient, failure: Script
) -> None:
    h.fake.script = [failure, failure]
    assert (await client.create_video(BODY, idempotency_key="k5")).video_id == "vid_1"
    assert keys_of(h.fake) == ["k5"] * 3
    assert h.sleeps == [1.0, 2.0]


async def test_create_retried_on_read_timeout_with_the_same_key(
    h: Harness, client: HeyGenClient
) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        h.fake.handle(request)
        raise httpx.ReadTimeout("timed out", request=request)

    h.fake.script = [slow]
    assert (await client.create_video(BODY, idempotency_key="kt")).video_id == "vid_1"
    assert len(h.fake.jobs) == 1 and keys_of(h.fake) == ["kt", "kt"]


async def test_create_waits_while_request_in_progress(h: Harness, client: HeyGenClient) -> None:
    busy: Script = lambda r: err(409, "request_in_progress")  # noqa: E731
    h.fake.script = [busy, busy, busy]
    assert (await client.create_video(BODY, idempotency_key="kp")).video_id == "vid_1"
    assert keys_of(h.fake) == ["kp"] * 4
    assert h.sleeps == [2.0, 2.0, 2.0]


async def test_create_rejects_a_bad_idempotency_key(client: HeyGenClient) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        await client.create_video(BODY, idempotency_key="has space")


# -- 429 ------------------------------------------------------------------------


def limited(retry_after: str | None) -> Script:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return lambda r: err(429, "rate_limit_exceeded", "Too many jobs", headers=headers)


async def test_429_honours_retry_after_seconds(h: Harness, client: HeyGenClient) -> None:
    h.fake.script = [limited("3")]
    await client.create_video(BODY, idempotency_key="k")
    assert h.sleeps == [3.0]
    assert len(h.fake.jobs) == 1


async def test_429_honours_retry_after_http_date(h: Harness, client: HeyGenClient) -> None:
    when = datetime.datetime.fromtimestamp(NOW + 5, datetime.UTC)
    h.fake.script = [limited(email.utils.format_datetime(when, usegmt=True))]
    await client.list_looks()
    assert h.sleeps == [5.0]


async def test_429_retry_after_is_capped_and_missing_means_backoff(h: Harness) -> None:
    h.fake.script = [limited("86400"), limited(None)]
    async with h.client(retry=RetryPolicy(max_retry_after=60)) as client:
        await client.list_looks()
    assert h.sleeps == [60.0, 2.0]


async def test_429_forever_gives_rate_limited_after_the_attempts(
    h: Harness, client: HeyGenClient
) -> None:
    h.fake.script = [limited("1")] * 10
    with pytest.raises(RateLimited) as info:
        await client.create_video(BODY, idempotency_key="k")
    assert info.value.retry_after == 1.0
    assert "429" in str(info.value) and "--jobs" in str(info.value)
    assert len(h.fake.requests) == 6 and h.sleeps == [1.0] * 5
    assert h.fake.jobs == {}


def test_parse_retry_after() -> None:
    assert parse_retry_after("7", now=NOW) == 7.0
    assert parse_retry_after(" 1.5 ", now=NOW) == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 0.0  # past
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None
    assert parse_retry_after("-4", now=NOW) == 0.0


# -- reads, errors ----------------------------------------------------------------


async def test_non_json_502_from_a_gateway_is_retried_then_a_server_error(
    h: Harness, client: HeyGenClient
) -> None:
    gateway: Script = lambda r: httpx.Response(  # noqa: E731
        502,
        text="<html><body><h1>502 Bad Gateway</h1></body></html>",
        headers={"content-type": "text/html"},
    )
    h.fake.script = [gateway] * 6
    with pytest.raises(ServerError) as info:
        await client.get_video("vid_1")
    message = str(info.value)
    assert "502" in message and "gateway" in message and "\n" not in message
    assert h.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


async def test_backoff_jitter_stays_within_25_percent(h: Harness) -> None:
    policy = RetryPolicy()
    assert policy.backoff(1, 0.0) == 0.75
    assert policy.backoff(3, 0.999999) == pytest.approx(5.0, rel=1e-5)
    assert policy.backoff(10, 0.5) == 30.0  # capped


async def test_connection_refused_on_reads_is_retried_then_a_network_error(
    h: Harness, client: HeyGenClient
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    h.fake.script = [refuse] * 6
    with pytest.raises(NetworkError) as info:
        await client.get_video("vid_1")
    assert "api.heygen.test" in str(info.value) and "HEYGEN_BASE_URL" in str(info.value)
    assert len(h.fake.requests) == 6


async def test_a_retry_budget_stops_retrying(h: Harness) -> None:
    h.fake.script = [lambda r: httpx.Response(503)] * 6
    async with h.client(retry=RetryPolicy(budget=2.5)) as client:
        with pytest.raises(ServerError):
            await client.get_video("vid_1")
    assert h.sleeps == [1.0]  # 1 s slept + 2 s more would pass the 2.5 s budget


async def test_402_is_a_credit_error_and_not_retried(h: Harness, client: HeyGenClient) -> None:
    h.fake.script = [lambda r: err(402, "insufficient_credit", "Not enough credits")]
    with pytest.raises(CreditError, match="out of credit") as info:
        await client.create_video(BODY, idempotency_key="k")
    assert info.value.status == 402 and info.value.code == "insufficient_credit"
    assert len(h.fake.requests) == 1 and h.sleeps == []


async def test_400_names_the_field(h: Harness, client: HeyGenClient) -> None:
    h.fake.script = [lambda r: err(400, "invalid_parameter", "must be 4-15", param="duration")]
    with pytest.raises(InvalidRequest) as info:
        await client.create_video(BODY, idempotency_key="k")
    assert info.value.param == "duration"
    assert "'duration'" in str(info.value) and "must be 4-15" in str(info.value)
    assert len(h.fake.requests) == 1


async def test_401_is_one_line_naming_the_variable(h: Harness) -> None:
    async with HeyGenClient(
        "wrong-key", "https://api.heygen.test", transport=httpx.MockTransport(h.fake)
    ) as c:
        with pytest.raises(AuthError) as info:
            await c.list_looks()
    assert str(info.value).startswith("HEYGEN_API_KEY was rejected (401): check the key")
    assert "wrong-key" not in str(info.value)


async def test_unknown_video_is_not_found(client: HeyGenClient) -> None:
    with pytest.raises(NotFound, match="video_not_found"):
        await client.get_video("nope")


async def test_status_maps_id_and_is_tolerant(h: Harness, client: HeyGenClient) -> None:
    h.fake.jobs["v9"] = {
        "id": "v9",
        "status": "completed",
        "video_url": "https://cdn.example/v9.mp4",
        "duration": 10.5,
        "new_field": {"x": 1},
    }
    h.fake.jobs["v8"] = {
        "id": "v8",
        "status": "failed",
        "failure_code": "download_failed",
        "failure_message": "reference unreachable",
    }
    done = await client.get_video("v9")
    assert (done.id, done.video_id, done.completed, done.done) == ("v9", "v9", True, True)
    assert done.duration == 10.5 and done.failure_code is None
    failed = await client.get_video("v8")
    assert failed.failed and failed.failure_code == "download_failed" and failed.video_url is None


async def test_status_without_status_is_a_server_error(h: Harness, client: HeyGenClient) -> None:
    h.fake.jobs["v7"] = {"id": "v7"}
    with pytest.raises(ServerError, match="'status'"):
        await client.get_video("v7")


async def test_success_that_is_not_json_is_a_server_error(h: Harness, client: HeyGenClient) -> None:
    h.fake.script = [lambda r: httpx.Response(200, text="OK")]
    with pytest.raises(ServerError, match="not JSON"):
        await client.list_looks()


# -- looks, assets, webhooks --------------------------------------------------------


async def test_list_looks_follows_every_page(h: Harness, client: HeyGenClient) -> None:
    looks = await client.list_looks(ownership="private")
    assert [look.id for look in looks] == [f"look_{i}" for i in range(7)]
    gets = [r for r in h.fake.requests if r.url.path == "/v3/avatars/looks"]
    assert len(gets) == 3
    assert [r.url.params.get("token") for r in gets] == [None, "3", "6"]
    assert all(
        r.url.params["ownership"] == "private" and r.url.params["limit"] == "50" for r in gets
    )


async def test_list_looks_stops_on_a_repeated_token(h: Harness, client: HeyGenClient) -> None:
    def loop(r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [], "has_more": True, "next_token": "t"})

    h.fake.script = [loop, loop]
    with pytest.raises(ServerError, match="next_token"):
        await client.list_looks()


async def test_upload_small_asset_is_multipart(
    h: Harness, client: HeyGenClient, tmp_path: Path
) -> None:
    path = tmp_path / "ref.png"
    path.write_bytes(b"\x89PNG")
    asset = await client.upload_asset(path)
    assert (asset.asset_id, asset.mime_type, asset.size_bytes) == ("ast_1", "image/png", 4)
    assert h.fake.requests[0].headers["content-type"].startswith("multipart/form-data")


async def test_upload_big_asset_uses_direct_upload_without_the_key(
    h: Harness, client: HeyGenClient, tmp_path: Path
) -> None:
    client.multipart_limit = 10
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"0123456789abcdef" * 100)
    asset = await client.upload_asset(path)
    assert (
        asset.asset_id == "ast_big" and asset.size_bytes == 1600 and asset.mime_type == "video/mp4"
    )
    init, put, complete = h.fake.requests
    assert json.loads(init.content)["size_bytes"] == 1600
    assert json.loads(init.content)["checksum_sha256"]
    assert put.method == "PUT" and put.url.host == "storage.example"
    assert "x-api-key" not in put.headers
    assert put.headers["x-goog-meta"] == "1" and put.headers["content-length"] == "1600"
    assert put.read() == path.read_bytes()
    assert complete.url.path == "/v3/assets/ast_big/complete"


async def test_upload_of_a_missing_file_is_one_line(client: HeyGenClient, tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"cannot read .*nope\.png"):
        await client.upload_asset(tmp_path / "nope.png")


async def test_webhook_endpoint(h: Harness, client: HeyGenClient) -> None:
    endpoint = await client.create_webhook_endpoint(
        "https://hooks.example/x", ["avatar_video.success"]
    )
    assert endpoint.endpoint_id == "ep_1" and endpoint.secret == "whsec_x"
    assert endpoint.events == ("avatar_video.success",)
    assert "whsec_x" not in repr(endpoint)
    assert h.fake.requests[0].headers["idempotency-key"].startswith("shotbuild-webhook-")


# -- downloads ------------------------------------------------------------------------


async def test_download_streams_without_the_key(h: Harness, client: HeyGenClient) -> None:
    h.fake.files["v1.mp4"] = b"x" * 100_000
    out = io.BytesIO()
    seen: list[int] = []
    n = await client.download("https://cdn.example/v/v1.mp4", out, on_progress=seen.append)
    assert n == 100_000 and out.getvalue() == b"x" * 100_000 and sum(seen) == n
    assert "x-api-key" not in h.fake.requests[0].headers


@pytest.mark.parametrize("status", [403, 404])
async def test_download_of_an_expired_link(h: Harness, client: HeyGenClient, status: int) -> None:
    h.fake.script = [lambda r: httpx.Response(status, text="<Error>AccessDenied</Error>")]
    with pytest.raises(LinkExpired, match="status again"):
        await client.download("https://cdn.example/v/v1.mp4", io.BytesIO())
    assert len(h.fake.requests) == 1


class Broken(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"partial"
        raise httpx.ReadError("connection reset")


async def test_download_broken_midway_starts_over(h: Harness, client: HeyGenClient) -> None:
    h.fake.files["v1.mp4"] = b"complete video"
    h.fake.script = [lambda r: httpx.Response(200, stream=Broken())]
    out = io.BytesIO(b"HEAD")
    out.seek(4)
    seen: list[int] = []
    url = "https://cdn.example/v/v1.mp4"
    assert await client.download(url, out, on_progress=seen.append) == len(b"complete video")
    assert out.getvalue() == b"HEADcomplete video"
    assert seen == [7, -7, 14] and h.sleeps == [1.0]


# -- configuration and secrecy -----------------------------------------------------


def test_from_env_without_a_key() -> None:
    with pytest.raises(MissingApiKey) as info:
        HeyGenClient.from_env()
    assert "HEYGEN_API_KEY" in str(info.value) and "--backend" not in str(info.value)


async def test_from_env_reads_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    monkeypatch.setenv("HEYGEN_BASE_URL", "HTTP://127.0.0.1:8123/")
    async with HeyGenClient.from_env() as c:
        assert c.origin == "http://127.0.0.1:8123"


@pytest.mark.parametrize(
    ("base", "origin"),
    [
        ("https://api.heygen.com", "https://api.heygen.com"),
        ("https://API.HeyGen.com:443/", "https://api.heygen.com"),
        ("http://localhost:80/prefix/", "http://localhost"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
async def test_origin_is_normalised(base: str, origin: str) -> None:
    async with HeyGenClient(KEY, base) as c:
        assert c.origin == origin


@pytest.mark.parametrize("base", ["ftp://x.example", "api.heygen.com", "http://"])
def test_a_bad_base_url_is_one_line(base: str) -> None:
    with pytest.raises(ApiError, match="HEYGEN_BASE_URL"):
        HeyGenClient(KEY, base)


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    for name in ("httpx", "httpcore", "shotbuild"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name in ("httpx", "httpcore", "shotbuild"):
        logging.getLogger(name).setLevel(logging.NOTSET)


async def test_the_key_never_appears(
    h: Harness, every_log: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # A server that echoes the key back in its error messages.
    def echo(r: httpx.Request) -> httpx.Response:
        return err(400, "invalid_parameter", f"bad key {r.headers['x-api-key']}", param="x")

    def echo5(r: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"oops {r.headers['x-api-key']}")

    h.fake.script = [echo, *[echo5] * 6]
    texts: list[str] = []
    async with h.client() as client:
        texts.append(repr(client))
        texts.append(str(vars(client.__class__)))
        for call in (
            lambda: client.create_video(BODY, idempotency_key="k"),
            lambda: client.get_video("v1"),
            lambda: client.get_video("missing"),
            lambda: client.download("https://cdn.example/v/none.mp4", io.BytesIO()),
        ):
            with pytest.raises(ApiError) as info:
                await call()
            error: BaseException | None = info.value
            while error is not None:
                texts += [str(error), repr(error)]
                error = error.__cause__ or error.__context__
    async with HeyGenClient(
        "bad" + KEY, "https://api.heygen.test", transport=httpx.MockTransport(h.fake)
    ) as c:
        with pytest.raises(AuthError) as info:
            await c.list_looks()
        texts.append(str(info.value))
    texts += [r.getMessage() for r in every_log.records]
    assert every_log.records, "expected log records from httpx and shotbuild"
    assert not [t for t in texts if KEY in t]
    assert any("[HEYGEN_API_KEY]" in t for t in texts)  # the echoed key was redacted


async def test_download_of_an_unusable_url_is_not_retried(h: Harness) -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    # The real transport refuses ftp:// before any connection is made.
    async with HeyGenClient(KEY, "https://api.heygen.test", sleep=sleep) as client:
        with pytest.raises(ServerError, match="not a usable URL"):
            await client.download("ftp://cdn.example/v1.mp4", io.BytesIO())
    assert sleeps == []


@pytest.mark.parametrize("bad", ["sk one", "sk\nnext", "sk-é"])
def test_a_key_with_impossible_characters_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(AuthError, match="copy it again") as info:
        HeyGenClient(bad)
    assert bad not in str(info.value)


async def test_request_in_progress_gives_up_after_its_waits(h: Harness) -> None:
    h.fake.script = [lambda r: err(409, "request_in_progress")] * 5
    async with h.client(retry=RetryPolicy(in_progress_attempts=3)) as client:
        with pytest.raises(RequestInProgress, match="same Idempotency-Key"):
            await client.create_video(BODY, idempotency_key="k")
    assert len(h.fake.requests) == 3 and h.sleeps == [2.0, 2.0]


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "unauthorized", AuthError),
        (403, "forbidden", AuthError),
        (402, "insufficient_credit", CreditError),
        (404, "video_not_found", NotFound),
        (409, "request_in_progress", RequestInProgress),
        (409, "conflict", InvalidRequest),
        (422, "invalid_parameter", InvalidRequest),
        (429, "rate_limit_exceeded", RateLimited),
        (500, "internal_error", ServerError),
        (504, None, ServerError),
    ],
)
def test_every_status_maps_to_one_error(status: int, code: str | None, cls: type[ApiError]) -> None:
    from shotbuild.heygen.errors import from_response

    body = {"error": {"code": code, "message": "m"}} if code else None
    response = httpx.Response(status, json=body) if body else httpx.Response(status, text="")
    error = from_response(response, action="GET /v3/x")
    assert type(error) is cls and error.status == status and error.code == code
    assert "\n" not in str(error) and str(error).count(": ") >= 1


class Pipe(io.RawIOBase):
    """A write-only, unseekable sink (like a pipe)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(b)


async def test_a_broken_download_into_a_pipe_cannot_start_over(
    h: Harness, client: HeyGenClient
) -> None:
    h.fake.script = [lambda r: httpx.Response(200, stream=Broken())]
    with pytest.raises(NetworkError, match="broke off after 7 bytes"):
        await client.download("https://cdn.example/v/v1.mp4", Pipe())  # type: ignore[arg-type]
    assert h.sleeps == []


async def test_503_with_retry_after_is_honoured(h: Harness, client: HeyGenClient) -> None:
    h.fake.script = [lambda r: httpx.Response(503, headers={"Retry-After": "9"})]
    await client.list_looks()
    assert h.sleeps == [9.0]


async def test_501_is_not_retried(h: Harness, client: HeyGenClient) -> None:
    h.fake.script = [lambda r: httpx.Response(501)]
    with pytest.raises(ServerError, match="501"):
        await client.list_looks()
    assert h.sleeps == []
