"""A wrong API key is the build's problem, not each shot's: a 401 on the balance
check, on the first create or on a status call stops the build with ONE line (what
is wrong, what to do: set HEYGEN_API_KEY), not one line per shot (issue 15)."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import RunningEmulator, SpecWriter
from engine_fakes import API_KEY, BASE_URL, FakeHeyGen, make_shot, make_spec, no_sleep

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import BuildOptions, build
from shotbuild.errors import ShotbuildError
from shotbuild.progress import LineReporter
from shotbuild.store.cache import Cache

KEY = "sk-the-right-key-7c1"
SPEC = """\
version: 1
defaults: {avatar_id: [look_founder], duration: 4}
shots:
  one: {prompt: The founder says one.}
  two: {prompt: The founder says two.}
  three: {prompt: The founder says three.}
"""


def refusing_creates(fake: FakeHeyGen) -> httpx.MockTransport:
    """The fake, but every create is answered 401 (the balance is not asked here:
    /v3/users/me is unknown to the fake, so the balance reads as unknown)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v3/videos":
            fake.create_requests += 1
            body = {"error": {"code": "unauthorized", "message": "invalid api key"}}
            return httpx.Response(401, json=body)
        return fake(request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("keep_going", [False, True])
def test_a_401_on_the_first_create_stops_the_build_with_one_error(
    tmp_path: Path, keep_going: bool
) -> None:
    fake = FakeHeyGen()
    spec = make_spec(tmp_path, *(make_shot(f"s{n}", f"Prompt {n}.") for n in range(6)))
    said = io.StringIO()
    with Cache() as cache:
        backend = HeyGenBackend(
            BASE_URL, API_KEY, cache=cache, transport=refusing_creates(fake), sleep=no_sleep
        )
        options = BuildOptions(jobs=2, keep_going=keep_going)
        with pytest.raises(ShotbuildError) as e:
            build(spec, backend, options, cache=cache, reporter=LineReporter(said), sleep=no_sleep)
    message = str(e.value)
    assert message.startswith("HEYGEN_API_KEY was rejected (401)") and "\n" not in message
    assert "set HEYGEN_API_KEY" in message
    assert "failed" not in said.getvalue()  # no line per shot
    assert fake.create_requests <= 2 and fake.creates == 0  # the shots in flight, no more


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.0, seed=7, clock=time.monotonic)


def wrong_key(emu: RunningEmulator, spec_file: Path, *args: str) -> list[str]:
    env = emu.env(HEYGEN_API_KEY="sk-a-wrong-key")
    done = emu.shotbuild("build", str(spec_file), *args, env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout == "" and "sk-a-wrong-key" not in done.stderr
    return done.stderr.splitlines()


def test_a_wrong_key_on_a_first_build_is_one_line(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    spec_file = write_spec(SPEC)
    for args in ((), ("-k",)):
        lines = wrong_key(emu, spec_file, *args)
        assert len(lines) == 1, lines
        assert lines[0].startswith("shotbuild: error: HEYGEN_API_KEY was rejected (401)")
    assert emu.stats()["jobs"] == 0


def test_a_wrong_key_restoring_from_the_lock_is_one_line(
    emu: RunningEmulator, write_spec: SpecWriter, tmp_path: Path
) -> None:
    spec_file = write_spec(SPEC)
    cache_dir = tmp_path / "first-cache"
    first = emu.shotbuild("build", str(spec_file), env=emu.env(SHOTBUILD_CACHE_DIR=str(cache_dir)))
    assert first.returncode == 0, first.stderr
    shutil.rmtree(spec_file.parent / "build")  # a fresh clone: only the lock is left
    for args in ((), ("-k",)):  # three restores, each a status call with the wrong key
        lines = wrong_key(emu, spec_file, *args)
        assert len(lines) == 1 and "HEYGEN_API_KEY was rejected (401)" in lines[0], lines
    assert emu.stats()["jobs"] == 3
