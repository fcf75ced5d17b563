"""Concurrency that learns HeyGen's job limit from 429s: a build with a larger -j
than the account allows waits its turn instead of hammering creates."""

from __future__ import annotations

import asyncio
import email.utils
import time
from pathlib import Path

from conftest import SpecWriter
from engine_fakes import FakeHeyGen, heygen_backend, make_shot, make_spec
from test_engine_emulator import KEY, Emu  # noqa: F401 (KEY: the key conftest's emu accepts)

from shotbuild.build import RETRY_AFTER_MAX, BuildOptions, BuildResult, build
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock


def twelve(folder: Path) -> Spec:
    shots = (make_shot(f"s{i:02d}", f"Prompt {i}.", duration=4) for i in range(12))
    return make_spec(folder, *shots)


def run(fake: FakeHeyGen, spec: Spec, cache: Cache, sleeps: list[float]) -> BuildResult:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)  # others run meanwhile, as they would in real time

    backend = heygen_backend(fake, cache)
    return build(spec, backend, BuildOptions(jobs=8), cache=cache, sleep=sleep)


def test_a_job_limit_is_learnt_from_the_first_429s(tmp_path: Path) -> None:
    fake = FakeHeyGen(polls_to_finish=3, job_limit=3, retry_after="7")
    sleeps: list[float] = []
    spec = twelve(tmp_path)
    result = run(fake, spec, Cache(tmp_path / "cache"), sleeps)
    assert result.exit_code == 0 and len(result.built) == 12, result.failed
    assert fake.creates == 12 and len(read_lock(spec.lock_path)) == 12
    assert len(fake.limited) <= 12  # about one per shot at most, not a retry storm
    assert 7.0 in sleeps  # Retry-After honoured by the build itself
    # every retry of a create carried that shot's one Idempotency-Key
    key_of = {fake.jobs[vid].body["prompt"]: key for key, vid in fake.by_idempotency_key.items()}
    assert all(key == key_of[prompt] for prompt, key in fake.limited)


def test_a_retry_after_date_is_honoured_and_capped(tmp_path: Path) -> None:
    far = email.utils.formatdate(time.time() + 86400, usegmt=True)
    fake = FakeHeyGen(polls_to_finish=2, job_limit=2, retry_after=far)
    sleeps: list[float] = []
    result = run(fake, twelve(tmp_path), Cache(tmp_path / "cache"), sleeps)
    assert result.exit_code == 0 and fake.creates == 12
    assert RETRY_AFTER_MAX in sleeps and max(sleeps) == RETRY_AFTER_MAX


def test_the_emulator_job_limit_is_learnt_over_a_socket(
    write_spec: SpecWriter,
    emu: Emu,
) -> None:
    emu.world.config.faults.concurrency = 3
    emu.world.config.faults.latency = 0.3
    lines = ["version: 1", "defaults: {avatar_id: [look_founder], duration: 4}", "shots:"]
    lines += [f"  shot-{i}: {{prompt: Shot number {i}.}}" for i in range(8)]
    spec_file = write_spec("\n".join(lines) + "\n")
    done = emu.shotbuild("build", str(spec_file), "-j", "8")
    assert done.returncode == 0, done.stderr[-800:]
    assert emu.counts["jobs"] == 8 and len(read_lock(spec_file.with_suffix(".lock"))) == 8
    assert emu.counts["injected"]["429"] <= 8, emu.counts["injected"]


def test_the_client_hands_a_create_429_back_at_once_but_reads_still_retry() -> None:
    import httpx
    import pytest

    from shotbuild.heygen import HeyGenClient
    from shotbuild.heygen.errors import RateLimited

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) <= 2:  # the create, then the first read, are refused
            body = {"error": {"code": "rate_limit_exceeded", "message": "full"}}
            return httpx.Response(429, json=body, headers={"Retry-After": "5"})
        if request.method == "GET":
            return httpx.Response(200, json={"data": {"id": "v1", "status": "processing"}})
        return httpx.Response(200, json={"data": {"video_id": "v1", "status": "pending"}})

    async def no_wait(seconds: float) -> None:
        return None

    async def main() -> None:
        client = HeyGenClient("sk-x", transport=httpx.MockTransport(handler), sleep=no_wait)
        async with client:
            with pytest.raises(RateLimited) as info:
                await client.create_video({"type": "x"}, idempotency_key="k1", retry_429=False)
            assert info.value.retry_after == 5.0 and seen == ["POST"]
            assert (await client.get_video("v1")).status == "processing"
            assert seen == ["POST", "GET", "GET"]  # the read was retried by the client

    asyncio.run(main())


def test_a_full_account_with_nothing_of_ours_in_flight_gives_up_and_resumes_later(
    tmp_path: Path,
) -> None:
    fake = FakeHeyGen(rate_limit_next=1000)  # someone else's jobs fill the account
    cache = Cache(tmp_path / "cache")
    spec = make_spec(tmp_path, make_shot("only"))
    sleeps: list[float] = []
    first = run(fake, spec, cache, sleeps)
    assert first.exit_code == 1 and "still rate limited after 8 tries" in first.failed[0][1]
    assert fake.create_requests == 8 and fake.creates == 0  # one request per try, no storm
    assert sleeps == [1.0] * 7  # between tries, Retry-After waited out
    fake.rate_limit_next = 0
    assert run(fake, spec, cache, sleeps).built == ["only"] and fake.creates == 1
