"""Hostile API answers through httpx.MockTransport: each is a one-line ApiError or a
bounded, validated value, never another exception; the key never leaks past a cut;
every wait (a dripping download, endless paging) ends."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild import untrusted
from shotbuild.heygen import ApiError, HeyGenClient, NetworkError, RetryPolicy, ServerError
from shotbuild.heygen.models import VideoStatus

pytestmark = pytest.mark.anyio

KEY = "sk-trust-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5L7"
BODY = {"type": "avatar_shots", "prompt": "p", "avatar_id": ["look_a"]}


def slices(secret: str, n: int = 8) -> list[str]:
    return [secret[i : i + n] for i in range(len(secret) - n + 1)]


def leaked(text: str) -> list[str]:
    return [s for s in slices(KEY) if s in text]


async def no_sleep(_: float) -> None:
    return None


def client_for(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> HeyGenClient:
    return HeyGenClient(
        KEY,
        "https://api.heygen.test",
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
        retry=RetryPolicy(attempts=1),
        **kw,
    )


def answer(doc: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, content=json.dumps(doc).encode())


def raw(content: bytes, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=content)


# -- the key past a cut ------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 500])
async def test_error_echoing_the_key_past_the_cut_leaks_no_part_of_it(status: int) -> None:
    message = "x" * 170 + f" you sent x-api-key {KEY} which is wrong"
    body = json.dumps({"error": {"code": "bad", "message": message}}).encode()
    async with client_for(raw(body, status)) as client:
        with pytest.raises(ApiError) as caught:
            await client.get_video("v1")
    assert leaked(str(caught.value)) == []
    assert "[HEYGEN_API_KEY]" in str(caught.value) or "..." in str(caught.value)


def test_one_line_redacts_before_it_cuts() -> None:
    untrusted.add_secret(KEY)
    text = "a" * 195 + KEY
    assert leaked(untrusted.one_line(text, 200)) == []


# -- hostile answers -----------------------------------------------------------------


async def test_json_bomb_create_answer_is_a_server_error() -> None:
    bomb = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    async with client_for(raw(bomb)) as client:
        with pytest.raises(ServerError, match="nested more than"):
            await client.create_video(BODY, idempotency_key="k1")


@pytest.mark.parametrize("size", [100_000, 10_000_000])
async def test_huge_video_id_is_refused(size: int) -> None:
    async with client_for(answer({"data": {"video_id": "v" * size}})) as client:
        with pytest.raises(ServerError, match=r"video_id|larger than"):
            await client.create_video(BODY, idempotency_key="k1")


@pytest.mark.parametrize("video_id", ["../../etc/passwd", "a b", "v\x1b[2J", "", "é"])
async def test_video_id_that_is_not_a_safe_token_is_refused(video_id: str) -> None:
    async with client_for(answer({"data": {"video_id": video_id}})) as client:
        with pytest.raises(ServerError):
            await client.create_video(BODY, idempotency_key="k1")


async def test_answer_larger_than_the_bound_is_refused() -> None:
    big = json.dumps({"data": {"video_id": "v1", "pad": "x" * (5 << 20)}}).encode()
    async with client_for(raw(big)) as client:
        with pytest.raises(ServerError, match="larger than"):
            await client.create_video(BODY, idempotency_key="k1")


@pytest.mark.parametrize("duration", ["inf", "nan", -5, "-5", 1e300, "1e400", "9" * 50, True])
def test_status_duration_that_is_not_a_sane_length_is_unknown(duration: Any) -> None:
    status = VideoStatus.from_api({"id": "v1", "status": "completed", "duration": duration})
    assert status.duration is None


@pytest.mark.parametrize("created_at", ["nan", "inf", 1e300, "x"])
def test_created_at_that_is_not_a_time_is_unknown(created_at: Any) -> None:
    status = VideoStatus.from_api({"id": "v", "status": "s", "created_at": created_at})
    assert status.created_at is None


def test_control_characters_in_an_answer_are_escaped() -> None:
    status = VideoStatus.from_api(
        {
            "id": "v1",
            "status": "failed",
            "failure_message": "\x1b]0;pwned\x07\r9 built\x1b[2K",
        }
    )
    assert status.failure_message is not None
    assert not any(ord(c) < 32 for c in status.failure_message)
    assert "\\x1b" in status.failure_message


async def test_looks_paging_forever_stops_at_the_page_cap() -> None:
    pages = iter(range(10**6))

    def handler(request: httpx.Request) -> httpx.Response:
        n = next(pages)
        doc = {"data": [{"id": f"l{n}"}], "has_more": True, "next_token": f"t{n}"}
        return httpx.Response(200, json=doc)

    async with client_for(handler) as client:
        with pytest.raises(ServerError, match="pages"):
            await client.list_looks()
    assert next(pages) < 1000


async def test_looks_repeating_a_token_stops() -> None:
    doc = {"data": [], "has_more": True, "next_token": "same"}
    async with client_for(answer(doc)) as client:
        with pytest.raises(ServerError, match="twice"):
            await client.list_looks()


# -- plain http ----------------------------------------------------------------------


@pytest.mark.parametrize("base", ["http://api.example.com", "http://10.0.0.8:8080"])
def test_plain_http_to_another_machine_sends_no_key(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOTBUILD_ALLOW_INSECURE_HTTP", raising=False)
    with pytest.raises(ApiError, match="plain http"):
        HeyGenClient(KEY, base)


@pytest.mark.parametrize("base", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"])
async def test_plain_http_to_this_machine_is_allowed(base: str) -> None:
    await HeyGenClient(KEY, base).aclose()


async def test_plain_http_is_allowed_when_the_user_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    await HeyGenClient(KEY, "http://api.example.com", allow_insecure_http=True).aclose()
    monkeypatch.setenv("SHOTBUILD_ALLOW_INSECURE_HTTP", "1")
    await HeyGenClient(KEY, "http://api.example.com").aclose()


# -- bounded downloads -------------------------------------------------------------


class Drip(httpx.AsyncByteStream):
    def __init__(self, pause: float, total: int = 10_000) -> None:
        self.pause, self.total = pause, total

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.total):
            await asyncio.sleep(self.pause)
            yield b"x"


def drip(pause: float) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, stream=Drip(pause))


async def test_dripping_download_stops_at_the_stall_bound() -> None:
    async with client_for(drip(0.02)) as client:
        client.stall_seconds, client.stall_bytes = 0.3, 1000
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(NetworkError, match="stalled"):
            await client.download("https://cdn.example/v.mp4", io.BytesIO())
    assert loop.time() - started < 5


async def test_download_stops_at_the_overall_timeout() -> None:
    async with client_for(drip(0.01), download_timeout=0.3) as client:
        client.stall_bytes = 1  # never stalled: one byte per read is enough
        with pytest.raises(NetworkError, match=r"did not finish within 0\.3 s"):
            await client.download("https://cdn.example/v.mp4", io.BytesIO())


# -- any JSON at all -----------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["data", "id", "video_id", "status", "duration", "error", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=json_values, status=st.sampled_from([200, 400, 404, 429, 500]))
def test_any_json_answer_is_a_value_or_an_api_error(doc: Any, status: int) -> None:
    async def run() -> None:
        handler = lambda request: httpx.Response(status, content=json.dumps(doc).encode())  # noqa: E731
        async with client_for(handler) as client:
            for call in (
                lambda: client.create_video(BODY, idempotency_key="k1"),
                lambda: client.get_video("v1"),
                client.list_looks,
            ):
                message = ""
                try:
                    await call()
                except ApiError as e:
                    message = str(e)
                assert "\n" not in message

    asyncio.run(run())


def test_the_plain_http_permission_is_read_by_settings_and_reaches_the_backend() -> None:
    from shotbuild.settings import Settings

    allowed = Settings.resolve(environ={"SHOTBUILD_ALLOW_INSECURE_HTTP": "1"})
    assert allowed.heygen.allow_insecure_http is True
    for value in ("", "0", "yes"):
        env = {"SHOTBUILD_ALLOW_INSECURE_HTTP": value}
        assert Settings.resolve(environ=env).heygen.allow_insecure_http is False
    backend = allowed.open_backend()
    assert backend._client_kw == {"allow_insecure_http": True}  # type: ignore[attr-defined]
