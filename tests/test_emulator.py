"""The HeyGen emulator over real sockets on 127.0.0.1: the documented request rules,
auth, job progression on a fake clock, idempotency, limits, links, looks, webhooks
and injected faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shotbuild.emulator import serve_in_thread
from shotbuild.emulator.rules import check_create

KEY = "emu-key"
GOOD: dict[str, Any] = {
    "type": "avatar_shots",
    "prompt": "A founder walks through a sunlit office.",
    "avatar_id": ["look_founder"],
}
PNG64 = base64.b64encode(b"\x89PNG fake").decode()


def body(**changes: Any) -> dict[str, Any]:
    result = {**GOOD, **changes}
    return {k: v for k, v in result.items() if v is not DROP}


DROP = object()


def ref(times: int = 1, **fields: str) -> dict[str, Any]:
    """A body with `times` copies of one reference."""
    return body(references=[fields] * times)


def refs(videos: int = 0, images: int = 0) -> list[dict[str, str]]:
    return [{"type": "url", "url": f"https://cdn.example/v{i}.mp4"} for i in range(videos)] + [
        {"type": "url", "url": f"https://cdn.example/i{i}.jpg"} for i in range(images)
    ]


@pytest.fixture
def http(shared_emulator: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_emulator.url, headers={"x-api-key": KEY}) as client:
        yield client


# -- the Avatar Shots table -------------------------------------------------------------

REJECTED = [
    ("not an object", ["a list"], None),
    ("type missing", body(type=DROP), "type"),
    ("type unknown", body(type="avatar_iv"), "type"),
    ("prompt missing", body(prompt=DROP), "prompt"),
    ("prompt empty", body(prompt=""), "prompt"),
    ("prompt too long", body(prompt="x" * 10_001), "prompt"),
    ("prompt not a string", body(prompt=7), "prompt"),
    ("avatar_id missing", body(avatar_id=DROP), "avatar_id"),
    ("avatar_id a string", body(avatar_id="look_founder"), "avatar_id"),
    ("avatar_id empty", body(avatar_id=[]), "avatar_id"),
    ("avatar_id four looks", body(avatar_id=["a", "b", "c", "d"]), "avatar_id"),
    ("avatar_id not strings", body(avatar_id=["a", 3]), "avatar_id[1]"),
    ("references not a list", body(references={"type": "url"}), "references"),
    ("reference not an object", body(references=["https://x.example/a.jpg"]), "references[0]"),
    ("reference type unknown", ref(type="file", path="a.jpg"), "references[0].type"),
    ("url reference without url", body(references=[{"type": "url"}]), "references[0]"),
    ("url reference not http", ref(type="url", url="ftp://x/a.mp4"), "references[0].url"),
    ("asset reference without id", body(references=[{"type": "asset_id"}]), "references[0]"),
    ("base64 without data", ref(type="base64", media_type="image/png"), "references[0]"),
    ("base64 media_type", ref(type="base64", media_type="text/plain", data=PNG64), "references[0].media_type"),  # noqa: E501
    ("base64 bad data", ref(type="base64", media_type="image/png", data="@@@"), "references[0].data"),  # noqa: E501
    ("aspect_ratio unknown", body(aspect_ratio="4:3"), "aspect_ratio"),
    ("resolution unknown", body(resolution="4k"), "resolution"),
    ("duration below 4", body(duration=3), "duration"),
    ("duration above 15", body(duration=16), "duration"),
    ("duration not an integer", body(duration=10.5), "duration"),
    ("duration a string", body(duration="10"), "duration"),
    ("duration with auto_duration", body(duration=10, auto_duration=True), "duration"),
    ("auto_duration not a boolean", body(auto_duration="yes"), "auto_duration"),
    ("enhance_prompt not a boolean", body(enhance_prompt=1), "enhance_prompt"),
    ("title not a string", body(title=5), "title"),
    ("callback_url not a URL", body(callback_url="hooks"), "callback_url"),
    ("four videos", body(references=refs(videos=4)), "references"),
    ("ten images with the look", body(references=refs(images=9)), "references"),
    ("base64 videos count", ref(type="base64", media_type="video/mp4", data=PNG64, times=4), "references"),  # noqa: E501
]  # fmt: skip

ACCEPTED = [
    ("minimal", body()),
    ("cinematic_avatar", body(type="cinematic_avatar")),
    ("all options", body(aspect_ratio="9:16", resolution="1080p", duration=15, enhance_prompt=True,
                         title="t", callback_url="https://hooks.example/h")),
    ("prompt of 10,000", body(prompt="x" * 10_000)),
    ("three looks", body(avatar_id=["a", "b", "c"])),
    ("auto_duration without duration", body(auto_duration=True)),
    ("duration 4 and auto false", body(duration=4, auto_duration=False)),
    ("3 videos and 8 images + a look", body(references=refs(videos=3, images=8))),
    ("every reference shape", body(references=[
        {"type": "url", "url": "https://cdn.example/a.mp4"},
        {"type": "asset_id", "asset_id": "ast_1"},
        {"type": "base64", "media_type": "image/png", "data": PNG64},
    ])),
    ("unknown fields are ignored", body(seed=3)),
    ("null means absent", body(aspect_ratio=None, duration=None, references=None, title=None)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "sent", "param"), REJECTED, ids=[c[0] for c in REJECTED])
def test_bad_bodies_are_rejected_with_the_field(
    http: httpx.Client, case: str, sent: object, param: str | None
) -> None:
    response = http.post("/v3/videos", json=sent)
    assert response.status_code == 400, case
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter" and error["message"]
    assert error.get("param") == param


@pytest.mark.parametrize(("case", "sent"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_good_bodies_are_accepted(http: httpx.Client, case: str, sent: object) -> None:
    response = http.post("/v3/videos", json=sent)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "pending" and data["output_format"] == "mp4" and data["video_id"]


def test_invalid_json_is_400(http: httpx.Client) -> None:
    response = http.post("/v3/videos", content=b"{nope")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_parameter"


def test_the_rules_agree_with_the_spec_models_defaults() -> None:
    from shotbuild.spec.model import DEFAULT_ASPECT_RATIO, DEFAULT_DURATION, DEFAULT_RESOLUTION

    check_create(
        body(
            aspect_ratio=DEFAULT_ASPECT_RATIO,
            resolution=DEFAULT_RESOLUTION,
            duration=DEFAULT_DURATION,
        )
    )


def test_strict_ids_reject_unknown_looks_and_assets(emulator: Callable[..., Any]) -> None:
    emu = emulator(strict_ids=True)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        missing = http.post("/v3/videos", json=body(avatar_id=["look_founder", "look_nope"]))
        assert missing.status_code == 400
        assert missing.json()["error"] == {
            "code": "avatar_not_found",
            "message": "avatar look 'look_nope' not found",
            "param": "avatar_id[1]",
        }
        asset = http.post(
            "/v3/videos", json=body(references=[{"type": "asset_id", "asset_id": "ast_x"}])
        )
        assert asset.json()["error"]["code"] == "asset_not_found"
        assert http.post("/v3/videos", json=body()).status_code == 200


# -- auth ----------------------------------------------------------------------------------


def test_api_key_auth(emulator: Callable[..., Any]) -> None:
    emu = emulator(api_key=KEY)
    missing = httpx.get(f"{emu.url}/v3/avatars/looks")
    wrong = httpx.get(f"{emu.url}/v3/avatars/looks", headers={"x-api-key": "nope"})
    bearer = httpx.get(f"{emu.url}/v3/avatars/looks", headers={"Authorization": f"Bearer {KEY}"})
    assert missing.status_code == wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    assert bearer.status_code == 200


# -- jobs ----------------------------------------------------------------------------------


def test_job_progresses_over_the_clock_and_links_are_fresh(emulator: Callable[..., Any]) -> None:
    emu = emulator(latency=10.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        video_id = http.post("/v3/videos", json=body(duration=4, title="walk")).json()["data"][
            "video_id"
        ]
        states = []
        for _ in range(3):
            states.append(http.get(f"/v3/videos/{video_id}").json()["data"]["status"])
            emu.clock.advance(5.0)
        assert states == ["pending", "processing", "completed"]
        first = http.get(f"/v3/videos/{video_id}").json()["data"]
        emu.clock.advance(0.5)
        second = http.get(f"/v3/videos/{video_id}").json()["data"]
    assert first["id"] == video_id and first["duration"] == 4.0 and first["title"] == "walk"
    assert first["video_url"] != second["video_url"]  # regenerated on every status call
    one = httpx.get(first["video_url"])
    two = httpx.get(second["video_url"])
    assert one.status_code == two.status_code == 200 and one.content == two.content
    assert one.content[4:8] == b"ftyp"
    stats = emu.stats()
    assert stats["renders"] == 1 and stats["downloads"] == 2 and stats["status_calls"] == 5


def test_failures_carry_code_and_message(emulator: Callable[..., Any]) -> None:
    emu = emulator(latency=1.0, failure_rate=1.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        video_id = http.post("/v3/videos", json=body()).json()["data"]["video_id"]
        emu.clock.advance(1.0)
        data = http.get(f"/v3/videos/{video_id}").json()["data"]
    assert data["status"] == "failed" and data["failure_code"] and data["failure_message"]
    assert "video_url" not in data


def test_a_marked_prompt_always_fails(emulator: Callable[..., Any]) -> None:
    emu = emulator(latency=0.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        video_id = http.post("/v3/videos", json=body(prompt="x [emulator:fail]")).json()["data"][
            "video_id"
        ]
        assert http.get(f"/v3/videos/{video_id}").json()["data"]["failure_code"] == "render_failed"


def test_unknown_ids_and_routes_are_404_in_heygen_shape(http: httpx.Client) -> None:
    assert http.get("/v3/videos/nope").json()["error"]["code"] == "video_not_found"
    assert http.get("/v3/avatars/looks/nope").json()["error"]["code"] == "avatar_not_found"
    other = http.get("/v3/nothing-here")
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"


def test_list_videos(emulator: Callable[..., Any]) -> None:
    emu = emulator()
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        for title in ("a", "b", "c"):
            http.post("/v3/videos", json=body(title=title))
        page = http.get("/v3/videos", params={"limit": 2}).json()
        assert [v["title"] for v in page["data"]] == ["c", "b"] and page["has_more"]
        rest = http.get("/v3/videos", params={"limit": 2, "token": page["next_token"]}).json()
        assert [v["title"] for v in rest["data"]] == ["a"] and not rest["has_more"]


# -- idempotency and limits ------------------------------------------------------------------


def test_idempotency_key_replays_the_first_answer(emulator: Callable[..., Any]) -> None:
    emu = emulator()
    with httpx.Client(
        base_url=emu.url, headers={"x-api-key": KEY, "Idempotency-Key": "shot-1"}
    ) as http:
        first = http.post("/v3/videos", json=body())
        again = http.post("/v3/videos", json=body())
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    stats = emu.stats()
    assert (
        stats["jobs"] == 1
        and stats["creates_total"] == 2
        and stats["creates_per_key"] == {"shot-1": 2}
    )


def test_idempotency_key_expires_after_the_window(emulator: Callable[..., Any]) -> None:
    emu = emulator(idempotency_window=60.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY, "Idempotency-Key": "k"}) as http:
        first = http.post("/v3/videos", json=body()).json()
        emu.clock.advance(61)
        later = http.post("/v3/videos", json=body()).json()
    assert first != later and emu.stats()["jobs"] == 2


def test_409_while_the_first_create_is_in_progress(emulator: Callable[..., Any]) -> None:
    emu = emulator(create_latency=1.0)
    answers: list[httpx.Response] = []
    headers = {"x-api-key": KEY, "Idempotency-Key": "slow"}
    first = threading.Thread(
        target=lambda: answers.append(
            httpx.post(f"{emu.url}/v3/videos", json=body(), headers=headers)
        )
    )
    first.start()
    for _ in range(100):
        if emu.stats()["creates_total"]:
            break
        threading.Event().wait(0.01)
    second = httpx.post(f"{emu.url}/v3/videos", json=body(), headers=headers)
    first.join()
    assert second.status_code == 409 and second.json()["error"]["code"] == "request_in_progress"
    assert answers[0].status_code == 200 and emu.stats()["jobs"] == 1


def test_a_rejected_create_releases_its_key(http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "fix-me"}
    assert http.post("/v3/videos", json=body(duration=99), headers=headers).status_code == 400
    assert http.post("/v3/videos", json=body(duration=9), headers=headers).status_code == 200


def test_concurrency_limit_is_429_with_retry_after(emulator: Callable[..., Any]) -> None:
    emu = emulator(concurrency=2, latency=30.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        assert http.post("/v3/videos", json=body()).status_code == 200
        emu.clock.advance(10)
        assert http.post("/v3/videos", json=body()).status_code == 200
        limited = http.post("/v3/videos", json=body())
        assert (
            limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"
        )
        assert limited.headers["retry-after"] == "20"  # the first job ends in 20 s
        emu.clock.advance(20)
        assert http.post("/v3/videos", json=body()).status_code == 200
    assert emu.stats()["jobs"] == 3


# -- looks --------------------------------------------------------------------------------


def test_looks_paging_and_filters(http: httpx.Client) -> None:
    seen, token, pages = [], None, 0
    while True:
        params = {"ownership": "public", **({"token": token} if token else {})}
        page = http.get("/v3/avatars/looks", params=params).json()
        seen += [look["id"] for look in page["data"]]
        pages += 1
        if not page["has_more"]:
            break
        token = page["next_token"]
    assert pages == 3 and len(seen) == len(set(seen)) == 57
    private = http.get("/v3/avatars/looks", params={"ownership": "private"}).json()["data"]
    assert [look["id"] for look in private] == ["look_founder", "look_cofounder", "look_host"]
    assert http.get("/v3/avatars/looks/look_founder").json()["data"]["name"] == "Founder"
    for bad in ({"limit": 51}, {"limit": 0}, {"token": "!!"}, {"ownership": "mine"}):
        answer = http.get("/v3/avatars/looks", params=bad)
        assert answer.status_code == 400, bad


# -- links and faults ----------------------------------------------------------------------


def test_links_expire(emulator: Callable[..., Any]) -> None:
    emu = emulator(latency=0.0, link_ttl=60.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        video_id = http.post("/v3/videos", json=body()).json()["data"]["video_id"]
        url = http.get(f"/v3/videos/{video_id}").json()["data"]["video_url"]
    assert httpx.get(url).status_code == 200
    emu.clock.advance(61)
    expired = httpx.get(url)
    assert expired.status_code == 403 and b"AccessDenied" in expired.content
    assert httpx.get(url.replace("signature=", "signature=0")).status_code == 403
    emu.clock.advance(-61)
    emu.faults(expire_links=True)
    assert httpx.get(url).status_code == 403


def test_injected_faults(emulator: Callable[..., Any]) -> None:
    emu = emulator()
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        emu.faults(rate_limit_next=2, retry_after=7)
        codes = [http.get("/v3/avatars/looks").status_code for _ in range(3)]
        assert codes == [429, 429, 200]
        emu.faults(rate_limit_next=1, retry_after_format="date")
        assert http.get("/v3/avatars/looks").headers["retry-after"].endswith("GMT")
        emu.faults(error_rate=1.0)
        assert {http.get("/v3/avatars/looks").status_code for _ in range(12)} <= {500, 502, 503}
        emu.faults(error_rate=0.0, drop_next=1)
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/v3/avatars/looks")
        assert http.get("/v3/avatars/looks").status_code == 200
    stats = emu.stats()
    assert stats["injected"] == {"429": 3, "5xx": 12, "dropped": 1}


def test_the_fault_endpoint_checks_what_it_is_given(shared_emulator: Any) -> None:
    url, key = f"{shared_emulator.url}/_emulator/faults", shared_emulator.headers
    assert httpx.post(url, json={"nope": 1}, headers=key).status_code == 400
    assert httpx.post(url, json={"error_rate": 2}, headers=key).status_code == 400
    assert httpx.post(url, json={"latency": "slow"}, headers=key).status_code == 400
    assert httpx.get(url, headers=key).json()["data"]["error_rate"] == 0.0


def test_same_seed_same_ids_and_failures(emulator: Callable[..., Any]) -> None:
    runs = []
    for _ in range(2):
        emu = emulator(seed=42, failure_rate=0.5, latency=0.0)
        with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
            ids = [
                http.post("/v3/videos", json=body()).json()["data"]["video_id"] for _ in range(6)
            ]
            runs.append([(i, http.get(f"/v3/videos/{i}").json()["data"]["status"]) for i in ids])
    assert runs[0] == runs[1]
    assert {status for _, status in runs[0]} == {"completed", "failed"}


# -- webhooks ------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        got.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serve_in_thread(app) as url:
        yield f"{url}/hook", got


def test_webhooks_are_delivered_and_signed(
    emulator: Callable[..., Any], receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    hook_url, got = receiver
    emu = emulator(latency=5.0, callback_secret="cb-secret")
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        endpoint = http.post(
            "/v3/webhooks/endpoints", json={"url": hook_url, "events": ["avatar_video.success"]}
        ).json()["data"]
        assert endpoint["secret"] and endpoint["status"] == "enabled" and endpoint["endpoint_id"]
        video_id = http.post("/v3/videos", json=body(callback_url=hook_url)).json()["data"][
            "video_id"
        ]
        assert not got
        emu.clock.advance(5.0)
        for _ in range(200):
            if len(got) == 2:
                break
            threading.Event().wait(0.01)
    assert len(got) == 2
    secrets = {endpoint["secret"], "cb-secret"}
    for headers, raw in got:
        doc = json.loads(raw)
        assert doc["event_type"] == "avatar_video.success"
        assert doc["event_data"]["video_id"] == video_id and doc["event_data"]["url"]
        signature = headers["x-heygen-signature"]
        assert any(
            hmac.compare_digest(hmac.new(s.encode(), raw, hashlib.sha256).hexdigest(), signature)
            for s in secrets
        )
        secrets.discard(
            next(
                s
                for s in secrets
                if hmac.new(s.encode(), raw, hashlib.sha256).hexdigest() == signature
            )
        )
    assert not secrets  # one delivery signed by each secret
    assert [w["status"] for w in emu.stats()["webhooks"]] == [204, 204]


def test_failures_are_delivered_as_fail_events(
    emulator: Callable[..., Any], receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    hook_url, got = receiver
    emu = emulator(latency=1.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        sent = body(prompt="[emulator:fail] a walk", callback_url=hook_url, callback_id="cb-7")
        video_id = http.post("/v3/videos", json=sent).json()["data"]["video_id"]
        emu.clock.advance(1.0)
        for _ in range(200):
            if got:
                break
            threading.Event().wait(0.01)
    headers, raw = got[0]
    doc = json.loads(raw)
    assert doc["event_type"] == "avatar_video.fail"
    assert doc["event_data"]["video_id"] == video_id and doc["event_data"]["callback_id"] == "cb-7"
    assert doc["event_data"]["msg"] and "url" not in doc["event_data"]
    expected = hmac.new(b"whsec_emulator_callback", raw, hashlib.sha256).hexdigest()
    assert headers["x-heygen-signature"] == expected
