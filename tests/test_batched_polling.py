"""Batched status polling in the build: the backend's `statuses` against MockTransport
fakes (the endpoint used, refused with 404/405 and remembered per origin, items left
out), and whole builds against the emulator over 127.0.0.1 with the endpoint and
without it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import RunningEmulator, SpecWriter
from engine_fakes import FakeHeyGen, heygen_backend, make_shot, make_spec

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import build
from shotbuild.build.options import BuildOptions
from shotbuild.heygen.bulk import ASK_AGAIN_AFTER, Refusals
from shotbuild.status import RemoteState
from shotbuild.store.cache import Cache

KEY = "sk-batched-polls-51"
ORIGIN = "https://api.heygen.test"


class Api:
    """A MockTransport fake: GET /v3/videos/statuses answered with `bulk` (a status
    code, or items), GET /v3/videos/{id} with a processing job."""

    def __init__(self, bulk: int | list[dict[str, Any]]) -> None:
        self.bulk = bulk
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == "/v3/videos/statuses":
            if isinstance(self.bulk, int):
                error = {"code": "not_found", "message": "no such route"}
                return httpx.Response(self.bulk, json={"error": error})
            return httpx.Response(200, json={"data": self.bulk})
        video_id = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"data": {"id": video_id, "status": "processing"}})


def backend(api: Api, cache: Cache | None = None) -> HeyGenBackend:
    return HeyGenBackend(ORIGIN, KEY, cache=cache, transport=httpx.MockTransport(api))


@pytest.mark.anyio
async def test_statuses_come_in_one_call_and_left_out_ids_are_for_asking_alone() -> None:
    api = Api(
        [
            {"video_id": "a", "status": "completed", "video_url": "https://cdn/a.mp4"},
            {"video_id": "b", "status": "queued"},
            {"video_id": "c", "status": "not_found"},  # maybe not listed yet: ask alone
            {"video_id": "d", "status": "failed", "failure_code": "render_failed"},
        ]
    )
    b = backend(api)
    try:
        got = await b.statuses(["a", "b", "c", "d", "e"])
        assert await b.statuses(["a"]) == {}  # one job: asked alone, by the caller
    finally:
        await b.close()
    assert api.paths == ["/v3/videos/statuses"]
    assert set(got) == {"a", "b", "d"}
    assert got["a"].state is RemoteState.COMPLETED and got["a"].video_url == "https://cdn/a.mp4"
    assert got["b"].state is RemoteState.PENDING
    assert got["d"].state is RemoteState.FAILED and got["d"].failure_code == "render_failed"


@pytest.mark.anyio
@pytest.mark.parametrize("refusal", [404, 405])
async def test_a_refused_endpoint_is_remembered_per_origin_in_the_cache(
    refusal: int, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    api = Api(refusal)
    said: list[str] = []
    first = backend(api, cache)
    first.listen(said.append)
    try:
        assert await first.statuses(["a", "b"]) == {}
        assert await first.statuses(["a", "b"]) == {}
    finally:
        await first.close()
    assert api.paths == ["/v3/videos/statuses"]  # asked once this run
    assert len(said) == 1 and f"({refusal})" in said[0] and "asking each job alone" in said[0]
    later = backend(api, cache)  # the next build, same origin: not asked at all
    try:
        assert await later.statuses(["a", "b"]) == {}
    finally:
        await later.close()
    assert api.paths == ["/v3/videos/statuses"]
    other = HeyGenBackend(
        "https://other.heygen.test", KEY, cache=cache, transport=httpx.MockTransport(Api([]))
    )
    assert not other.refusals.holds(other.identity)


@pytest.mark.anyio
async def test_a_server_error_on_the_endpoint_is_not_a_refusal(tmp_path: Path) -> None:
    from shotbuild.heygen.errors import ServerError

    cache = Cache(tmp_path / "cache")
    b = HeyGenBackend(
        ORIGIN,
        KEY,
        cache=cache,
        transport=httpx.MockTransport(Api(500)),
        retry=_no_retries(),
    )
    try:
        with pytest.raises(ServerError):
            await b.statuses(["a", "b"])
    finally:
        await b.close()
    assert not b.refusals.holds(b.identity)


def _no_retries() -> Any:
    from shotbuild.heygen.retry import RetryPolicy

    return RetryPolicy(attempts=1)


def test_a_refusal_is_asked_about_again_after_a_day(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    now = [1_000_000.0]
    Refusals(cache, lambda: now[0]).remember(ORIGIN)
    assert Refusals(cache, lambda: now[0]).holds(ORIGIN)
    now[0] += ASK_AGAIN_AFTER + 1
    assert not Refusals(cache, lambda: now[0]).holds(ORIGIN)


@pytest.mark.parametrize("stored", ["yes", float("nan"), None, True, [1]])
def test_what_the_cache_holds_is_untrusted(tmp_path: Path, stored: Any) -> None:
    cache = Cache(tmp_path / "cache")
    cache.index.set("bulkstatus-refused:" + ORIGIN, stored)
    assert not Refusals(cache).holds(ORIGIN)


# -- whole builds against the emulator ------------------------------------------------


SPEC = "version: 1\ndefaults: {avatar_id: [look_founder], duration: 4}\nshots:\n" + "".join(
    f"  s{i}: {{prompt: 'Shot {i} waves.'}}\n" for i in range(8)
)


def _build(emu: RunningEmulator, spec_file: Path) -> str:
    done = emu.shotbuild("build", str(spec_file), "-j", "8")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stderr


def test_a_build_polls_its_jobs_in_batches(
    emulator: Callable[..., RunningEmulator], write_spec: SpecWriter
) -> None:
    emu = emulator(api_key=KEY, latency=2.5, clock=time.monotonic)
    spec_file = write_spec(SPEC)
    _build(emu, spec_file)
    stats = emu.stats()
    assert stats["jobs"] == 8
    assert stats["batch_status_calls"] >= 2  # at 2 s, and after 2.5 s
    # the eight are asked together, never each alone on a schedule of its own
    assert stats["batch_status_calls"] + stats["status_calls"] < 8 * 2


def test_without_the_endpoint_a_build_asks_each_job_and_remembers(
    emulator: Callable[..., RunningEmulator], write_spec: SpecWriter
) -> None:
    emu = emulator(api_key=KEY, latency=2.5, clock=time.monotonic, no_bulk_statuses=True)
    spec_file = write_spec(SPEC)
    said = _build(emu, spec_file)
    assert "has no GET /v3/videos/statuses (404)" in said
    stats = emu.stats()
    assert stats["batch_status_calls"] == 1 and stats["status_calls"] >= 8 * 2
    write_spec(SPEC.replace("waves", "smiles"))  # eight new renders, the same origin
    said = _build(emu, spec_file)
    assert "statuses" not in said
    assert emu.stats()["batch_status_calls"] == 1 and emu.stats()["jobs"] == 16


# -- the slot is given back when the render is done, before the download --------------


class Logged(FakeHeyGen):
    """FakeHeyGen that logs each create (with the shots in the lock then) and download.
    The first download answers only once the second create has come (or after
    WAIT_S): with zero latency either may otherwise run first, and what is tested is
    whether the second create waits for the first download, not which is scheduled
    first."""

    WAIT_S = 10.0

    def __init__(self, lock: Path) -> None:
        super().__init__(polls_to_finish=1)
        self.lock = lock
        self.log: list[str] = []
        self.second_create = asyncio.Event()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)  # an async handler: MockTransport awaits it

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v3/videos":
            locked = self.lock.read_text() if self.lock.exists() else ""
            self.log.append("create" + (" (one locked)" if '"one"' in locked else ""))
            if sum(entry.startswith("create") for entry in self.log) == 2:
                self.second_create.set()
        elif request.url.host == "cdn.fake-heygen.test":
            self.log.append("download " + request.url.path.rsplit("/", 1)[-1])
            try:
                await asyncio.wait_for(self.second_create.wait(), self.WAIT_S)
            except TimeoutError:
                self.log.append("no second create while the first download was held")
        return self(request)


def test_the_next_create_does_not_wait_for_the_previous_download(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    spec = make_spec(tmp_path, make_shot("one"), make_shot("two", "Another shot."))
    fake = Logged(spec.lock_path)
    result = build(
        spec, heygen_backend(fake, cache), BuildOptions(jobs=1), cache=cache, sleep=_no_sleep
    )
    assert result.exit_code == 0 and sorted(result.built) == ["one", "two"]
    # -j 1: one job at HeyGen at a time, but the second is created once the first is done
    # rendering, not after its download and its record in the lock
    assert fake.log[0] == "create" and fake.log.count("create") == 2, fake.log


def test_a_slot_is_given_back_once() -> None:
    import asyncio

    from shotbuild.build.held import HELD, Held, render_done
    from shotbuild.build.slots import Slots

    async def run() -> tuple[int, int]:
        slots = Slots(2)
        await slots.acquire()
        held = Held(slots)
        HELD.set(held)
        await render_done()
        after_early = slots.active
        await held.give_back(grow=True)  # the executor's, at the shot's end: nothing more
        return after_early, slots.active

    assert asyncio.run(run()) == (0, 0)


async def _no_sleep(seconds: float) -> None:
    return None
