"""HeyGen's drift: the type rename (fallback, memory per origin, one key for both
names), callback_url refused, and status words. Against a stateful fake behind
MockTransport and against the emulator over 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent
from typing import Any

import httpx
import pytest

from shotbuild.heygen import CreditError, HeyGenClient, InvalidRequest
from shotbuild.heygen.drift import (
    KEY_SPELLING,
    SENT_BY_DEFAULT,
    CacheTypeMemory,
    DictTypeMemory,
    Drift,
    Phase,
    idempotency_key_for,
    key_type_name,
    legacy_key_type_names,
    other_name,
    phase_of,
    remember_type_name,
    remembered_type_name,
)
from shotbuild.heygen.models import VideoStatus
from shotbuild.store.cache import Cache

KEY = "sk-drift-KEY-1"
BODY: dict[str, Any] = {
    "type": "avatar_shots",
    "prompt": "A founder walks through a sunlit office.",
    "avatar_id": ["look_founder"],
    "duration": 4,
}
# The key today's main gives this shot (avatar_shots, the default): it must never move.
MAIN_KEY = "5af185494ae74fee339a8d484c1273b2a0d70854e84204374b3bca54d6436bc7"


def test_both_names_have_one_key_spelling() -> None:
    assert key_type_name("avatar_shots") == KEY_SPELLING == "avatar_shots"
    assert key_type_name("cinematic_avatar") == "avatar_shots"
    assert key_type_name("studio") == "studio"  # not ours to rename
    assert other_name("avatar_shots") == "cinematic_avatar"
    assert other_name("cinematic_avatar") == "avatar_shots"
    assert other_name("avatar") is None
    assert SENT_BY_DEFAULT == "cinematic_avatar"


def test_key_type_name_keeps_mains_key() -> None:
    """The engine's wiring, done here by hand: the request's type through key_type_name."""
    from engine_fakes import make_shot

    from shotbuild.keys import key_of, request_of

    def wired_key(api_type: str) -> str:
        shot = make_shot("a", "A founder walks through a sunlit office.", api_type=api_type)
        request = request_of(shot, Path("."), lambda _p: "0" * 64)
        request["type"] = key_type_name(request["type"])
        return key_of("https://api.heygen.com", request)

    assert wired_key("avatar_shots") == wired_key("cinematic_avatar") == MAIN_KEY
    # main keyed an explicit `type: cinematic_avatar` under that name: the alias finds it
    assert legacy_key_type_names("cinematic_avatar") == ("cinematic_avatar",)
    assert legacy_key_type_names("avatar_shots") == legacy_key_type_names("studio") == ()


def test_a_spec_switching_names_keeps_every_key(tmp_path: Path) -> None:
    """The default, avatar_shots and cinematic_avatar all give main's key."""
    from shotbuild.keys import shot_keys
    from shotbuild.spec import load_spec

    keys = set()
    for i, line in enumerate(("", "type: avatar_shots", "type: cinematic_avatar")):
        path = tmp_path / f"s{i}.yaml"
        path.write_text(
            dedent(f"""\
            version: 1
            shots:
              a:
                prompt: A founder walks through a sunlit office.
                avatar_id: [look_founder]
                {line}
            """)
        )
        spec = load_spec(path)
        keys.add(shot_keys(spec, "https://api.heygen.com", lambda _p: "0" * 64)["a"][0])
    assert keys == {MAIN_KEY}


def test_the_remembered_name_lives_in_the_cache_per_origin(tmp_path: Path) -> None:
    with Cache(tmp_path / "c") as cache:
        assert remembered_type_name(cache, "https://api.heygen.com") is None
        remember_type_name(cache, "https://api.heygen.com", "avatar_shots")
        assert remembered_type_name(cache, "https://api.heygen.com") == "avatar_shots"
        assert remembered_type_name(cache, "http://127.0.0.1:9") is None
        cache.index.set("typename:http://x", "rm -rf /")  # untrusted: ignored
        assert remembered_type_name(cache, "http://x") is None
        with pytest.raises(ValueError, match="not an Avatar Shots type"):
            remember_type_name(cache, "http://x", "studio")
    with Cache(tmp_path / "c") as cache:  # it survives the run
        assert CacheTypeMemory(cache).remembered("https://api.heygen.com") == "avatar_shots"


def test_each_variant_has_its_own_stable_idempotency_key() -> None:
    plain = idempotency_key_for("k", {"type": "cinematic_avatar"}, callback_dropped=False)
    old = idempotency_key_for("k", {"type": "avatar_shots"}, callback_dropped=False)
    both = idempotency_key_for("k", {"type": "avatar_shots"}, callback_dropped=True)
    assert (plain, old, both) == ("k", "k:as", "k:as:nocb")
    long = idempotency_key_for("x" * 255, {"type": "avatar_shots"}, callback_dropped=True)
    assert len(long) == 255 and long.endswith(":as:nocb")


def test_status_words() -> None:
    for word in ("pending", "waiting", "queued", "processing", "rendering", ""):
        assert phase_of(word) is Phase.IN_PROGRESS
    assert phase_of("completed") is Phase.COMPLETED
    assert phase_of("failed") is Phase.FAILED
    assert phase_of("not_found") is Phase.GONE
    assert VideoStatus(id="v", status="queued").phase is Phase.IN_PROGRESS
    said: list[str] = []
    drift = Drift("https://api.heygen.com", say=said.append)
    assert drift.phase("rendering") is drift.phase("rendering") is Phase.IN_PROGRESS
    assert drift.phase("waiting") is Phase.IN_PROGRESS
    assert len(said) == 1 and "'rendering'" in said[0] and "in progress" in said[0]


# -- the fallback, against a stateful fake -----------------------------------------------


class Fake:
    """POST /v3/videos refusing some type names and (optionally) callback_url."""

    def __init__(self, refuse: set[str], refuse_callback: bool = False) -> None:
        self.refuse, self.refuse_callback = refuse, refuse_callback
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.sent.append((request.headers["idempotency-key"], body))
        if body["type"] in self.refuse:
            return self._bad("type", f"type {body['type']!r} is not supported")
        if self.refuse_callback and "callback_url" in body:
            return self._bad("callback_url", "callback_url is not a field of this type")
        return httpx.Response(200, json={"data": {"video_id": f"v{len(self.sent)}"}})

    @staticmethod
    def _bad(param: str, message: str) -> httpx.Response:
        error = {"code": "invalid_parameter", "message": message, "param": param}
        return httpx.Response(400, json={"error": error})


def client_for(fake: Fake) -> HeyGenClient:
    return HeyGenClient(KEY, "https://api.heygen.com", transport=httpx.MockTransport(fake))


@pytest.mark.anyio
async def test_cinematic_avatar_is_sent_by_default_and_remembered() -> None:
    fake, said = Fake(set()), []  # type: ignore[var-annotated]
    drift = Drift("https://api.heygen.com", say=said.append)
    async with client_for(fake) as client:
        created = await drift.create(client, BODY, idempotency_key="k1")
    assert created.video_id == "v1"
    assert [(k, b["type"]) for k, b in fake.sent] == [("k1", "cinematic_avatar")]
    assert drift.memory.remembered("https://api.heygen.com") == "cinematic_avatar"
    assert said == []


@pytest.mark.anyio
async def test_a_refused_name_falls_back_once_and_is_sent_first_next_time() -> None:
    fake, said = Fake({"cinematic_avatar"}), []  # type: ignore[var-annotated]
    memory = DictTypeMemory()
    drift = Drift("https://api.heygen.com", memory, said.append)
    async with client_for(fake) as client:
        await drift.create(client, BODY, idempotency_key="k1")
        await drift.create(client, BODY, idempotency_key="k2")
    sent = [(k, b["type"]) for k, b in fake.sent]
    assert sent == [
        ("k1", "cinematic_avatar"),
        ("k1:as", "avatar_shots"),
        ("k2:as", "avatar_shots"),
    ]
    assert len(said) == 1 and "refused type 'cinematic_avatar'" in said[0]
    nxt = Drift("https://api.heygen.com", memory)  # the next build
    assert nxt.body_for(BODY)["type"] == "avatar_shots"


@pytest.mark.anyio
async def test_both_names_refused_is_the_apis_one_line_error() -> None:
    fake = Fake({"cinematic_avatar", "avatar_shots"})
    drift = Drift("https://api.heygen.com")
    async with client_for(fake) as client:
        with pytest.raises(InvalidRequest) as e:
            await drift.create(client, BODY, idempotency_key="k1")
    assert e.value.param == "type" and len(fake.sent) == 2
    assert drift.memory.remembered("https://api.heygen.com") is None


@pytest.mark.anyio
async def test_a_type_that_is_not_ours_is_never_renamed() -> None:
    fake = Fake({"studio"})
    async with client_for(fake) as client:
        with pytest.raises(InvalidRequest):
            await Drift("o").create(client, {**BODY, "type": "studio"}, idempotency_key="k")
    assert len(fake.sent) == 1


@pytest.mark.anyio
async def test_a_refused_callback_url_is_dropped_for_the_rest_of_the_run() -> None:
    fake, said = Fake(set(), refuse_callback=True), []  # type: ignore[var-annotated]
    drift = Drift("https://api.heygen.com", say=said.append)
    body = {**BODY, "callback_url": "https://example.com/hook", "title": "walk"}
    async with client_for(fake) as client:
        await drift.create(client, body, idempotency_key="k1")
        await drift.create(client, body, idempotency_key="k2")
    assert [(k, "callback_url" in b) for k, b in fake.sent] == [
        ("k1", True),
        ("k1:nocb", False),
        ("k2:nocb", False),
    ]
    assert fake.sent[-1][1]["title"] == "walk"
    assert len(said) == 1 and "callback_url" in said[0]


@pytest.mark.anyio
async def test_other_refusals_pass_through_unchanged() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"code": "invalid_parameter", "message": "too long", "param": "prompt"}
        return httpx.Response(400, json={"error": error})

    transport = httpx.MockTransport(handler)
    async with HeyGenClient(KEY, "https://api.heygen.com", transport=transport) as client:
        with pytest.raises(InvalidRequest) as e:
            await Drift("o").create(client, BODY, idempotency_key="k")
    assert e.value.param == "prompt"


# -- against the emulator -------------------------------------------------------------------


@pytest.mark.anyio
async def test_emulator_refusing_the_new_name(emulator: Callable[..., Any], tmp_path: Path) -> None:
    emu = emulator(refuse_types=("cinematic_avatar",), latency=0.0, balance=14.0)
    with Cache(tmp_path / "c") as cache:
        async with HeyGenClient(KEY, emu.url) as client:
            first = Drift(client.origin, CacheTypeMemory(cache))
            await first.create(client, BODY, idempotency_key="k1")
            second = Drift(client.origin, CacheTypeMemory(cache))  # the next build
            await second.create(client, BODY, idempotency_key="k2")
            with pytest.raises(CreditError):  # $14 pays two videos; the third is 402
                await second.create(client, BODY, idempotency_key="k3")
    stats = emu.stats()
    assert stats["create_types"] == {"cinematic_avatar": 1, "avatar_shots": 3}  # 402 included
    assert stats["jobs"] == 2
