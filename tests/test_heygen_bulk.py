"""GET /v3/videos/statuses: the emulator's endpoint over 127.0.0.1, and the client's
video_statuses against it and against MockTransport answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shotbuild.emulator.state import FAIL_MARK
from shotbuild.heygen import HeyGenClient
from shotbuild.heygen.drift import Phase
from shotbuild.heygen.errors import ServerError
from shotbuild.heygen.models import VideoStatus

pytestmark = pytest.mark.anyio

KEY = "sk-emulated-BULK-7"
HEADERS = {"x-api-key": KEY}


def body(prompt: str = "A founder waves.") -> dict[str, Any]:
    return {"type": "avatar_shots", "prompt": prompt, "avatar_id": ["look_founder"], "duration": 4}


@pytest.fixture
def emu(emulator: Any) -> Any:
    return emulator(api_key=KEY, latency=6.0)


@pytest.fixture
async def client(emu: Any) -> AsyncIterator[HeyGenClient]:
    async with HeyGenClient(KEY, emu.url, sleep=emu.clock.sleep, random=lambda: 0.5) as c:
        yield c


async def create(client: HeyGenClient, n: int, prompt: str = "A wave.") -> list[str]:
    ids = []
    for i in range(n):
        key = f"bulk-{len(prompt)}-{i}"
        made = await client.create_video(body(f"{prompt} {i}"), idempotency_key=key)
        ids.append(made.video_id)
    return ids


# -- the emulator, by the client ---------------------------------------------------------


async def test_statuses_follow_the_jobs_in_one_call(client: HeyGenClient, emu: Any) -> None:
    ids = await create(client, 3)
    before = emu.stats()
    first = await client.video_statuses(ids)
    assert list(first) == ids and {s.status for s in first.values()} == {"queued"}
    emu.clock.advance(2.0)
    assert {s.status for s in (await client.video_statuses(ids)).values()} == {"processing"}
    emu.clock.advance(4.0)
    done = await client.video_statuses(ids)
    assert all(s.completed and s.done and s.known for s in done.values())
    assert all(s.video_url and s.video_url.startswith(emu.url) for s in done.values())
    assert done[ids[0]].duration == 4.0
    after = emu.stats()
    assert after["batch_status_calls"] - before["batch_status_calls"] == 3
    assert after["status_calls"] == before["status_calls"]  # not counted as single calls


async def test_unknown_and_failed_jobs(client: HeyGenClient, emu: Any) -> None:
    (failing,) = await create(client, 1, prompt=f"{FAIL_MARK} no")
    emu.clock.advance(6.0)
    got = await client.video_statuses([failing, "vid_never_made"])
    assert got[failing].failed and got[failing].failure_code == "render_failed"
    assert got[failing].failure_message
    assert got["vid_never_made"] == VideoStatus("vid_never_made", "not_found")
    assert got["vid_never_made"].not_found and got["vid_never_made"].done
    assert got["vid_never_made"].phase is Phase.GONE and got[failing].phase is Phase.FAILED


async def test_a_hundred_ids_in_one_call(client: HeyGenClient, emu: Any) -> None:
    ids = [f"vid_{i:03d}" for i in range(100)]
    got = await client.video_statuses(ids)
    assert list(got) == ids and all(s.not_found for s in got.values())
    with pytest.raises(ValueError, match="1-100 video IDs, got 101"):
        await client.video_statuses([*ids, "vid_extra"])


# -- the emulator, raw HTTP ---------------------------------------------------------------


def get(emu: Any, query: str, headers: dict[str, str] = HEADERS) -> httpx.Response:
    return httpx.get(f"{emu.url}/v3/videos/statuses{query}", headers=headers)


def test_raw_answer_shape_and_repeats(emu: Any) -> None:
    created = httpx.post(f"{emu.url}/v3/videos", headers=HEADERS, json=body()).json()
    video_id = created["data"]["video_id"]
    response = get(emu, f"?video_ids={video_id},nope,{video_id}, ")
    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {
                "video_id": video_id,
                "status": "queued",
                "created_at": response.json()["data"][0]["created_at"],
            },
            {"video_id": "nope", "status": "not_found"},
        ]
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "video_ids is required"),
        ("?video_ids=", "video_ids is required"),
        ("?video_ids=" + ",".join(f"v{i}" for i in range(101)), "at most 100 IDs, got 101"),
    ],
)
def test_raw_bad_requests(emu: Any, query: str, message: str) -> None:
    response = get(emu, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter" and error["param"] == "video_ids"
    assert message in error["message"]


def test_raw_needs_the_key(emu: Any) -> None:
    response = get(emu, "?video_ids=a", headers={})
    assert response.status_code == 401


# -- the client against MockTransport --------------------------------------------------------


def mock_client(answer: Any, seen: list[httpx.Request] | None = None) -> HeyGenClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, content=json.dumps(answer).encode())

    return HeyGenClient(
        KEY,
        "https://api.heygen.test",
        transport=httpx.MockTransport(handler),
        sleep=_no_sleep,
        random=lambda: 0.5,
    )


async def _no_sleep(seconds: float) -> None:
    return None


async def test_client_sends_one_request_with_ids_comma_joined() -> None:
    seen: list[httpx.Request] = []
    answer = {"data": [{"video_id": "a", "status": "processing"}]}
    async with mock_client(answer, seen) as client:
        got = await client.video_statuses(["a", "b", "a"])
    assert len(seen) == 1
    assert seen[0].url.path == "/v3/videos/statuses"
    assert seen[0].url.params["video_ids"] == "a,b"
    assert seen[0].headers["x-api-key"] == KEY
    assert got == {"a": VideoStatus("a", "processing")}  # b left out by the answer: left out


async def test_client_reads_id_keys_unknown_words_and_ignores_ids_not_asked() -> None:
    answer = {
        "data": [
            {"id": "a", "status": "rendering", "duration": "oops", "video_url": 7},
            {"video_id": "z", "status": "completed"},
            {"video_id": "b", "status": "completed", "video_url": "https://cdn/b.mp4"},
        ]
    }
    async with mock_client(answer) as client:
        got = await client.video_statuses(["a", "b"])
    assert got["a"] == VideoStatus("a", "rendering")  # malformed optional fields: absent
    assert not got["a"].known and not got["a"].done
    assert got["b"].completed and got["b"].video_url == "https://cdn/b.mp4"
    assert "z" not in got


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        ({"data": {"video_id": "a"}}, "'data' is not a list"),
        ({"data": [{"video_id": "a"}]}, "no 'status' in the data"),
        ({"data": [{"status": "queued"}]}, "no 'id' in the data"),
        ({"data": [{"video_id": "a b", "status": "queued"}]}, "video_id must be a token"),
        ({"data": ["a"]}, "an item must be an object"),
        ({"data": [{"video_id": "a", "status": "x" * 65}]}, "65 characters long (at most 64)"),
        ({"data": [{"video_id": "a", "status": "queued"}] * 101}, "101 items"),
    ],
)
async def test_client_refuses_answers_it_cannot_read(answer: Any, what: str) -> None:
    async with mock_client(answer) as client:
        with pytest.raises(ServerError, match="GET /v3/videos/statuses") as caught:
            await client.video_statuses(["a"])
    assert what in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("ids", [[], ["a,b"], [""], ["a" * 129]])
async def test_client_refuses_ids_that_are_not_video_ids(ids: list[str]) -> None:
    async with mock_client({"data": []}) as client:
        with pytest.raises(ValueError, match="video"):
            await client.video_statuses(ids)
