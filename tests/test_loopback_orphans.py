"""A job of an earlier version of a shot (its key no longer the shot's) is finished
into the cache by the next build of the API it was sent to, told apart by the same
identity rule as keys (`heygen.origin.key_identity`): every loopback origin is one
(an emulator reached as localhost, or on another port, is the same API for a key),
a real origin only itself. The real CLI against the emulator on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunningEmulator, SpecWriter

KEY = "sk-loopback-orphan-6f0"
TEXT = "version: 1\ndefaults: {avatar_id: [look_founder], duration: 4}\nshots:\n"


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.0, seed=17, clock=time.monotonic)


def spec_of(write_spec: SpecWriter, prompt: str) -> Path:
    return write_spec(TEXT + f"  hero: {{prompt: {prompt}}}\n")


def test_an_earlier_versions_job_is_finished_through_another_loopback_origin(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    numeric = emu.url  # http://127.0.0.1:<port>
    named = numeric.replace("127.0.0.1", "localhost")  # the same emulator, another origin
    assert named != numeric
    spec = spec_of(write_spec, "Version one.")
    killed = emu.shotbuild("build", str(spec), env=emu.env(SHOTBUILD_TEST_CRASH_AT="mid-download"))
    assert killed.returncode == -9, killed.stderr  # paid, then killed while downloading
    spec = spec_of(write_spec, "Version two.")
    env = emu.env(HEYGEN_BASE_URL=named)
    plan = emu.shotbuild("plan", str(spec), env=env)
    assert "hero  in flight (earlier version): submitted as" in plan.stdout, plan.stdout
    edited = emu.shotbuild("build", str(spec), env=env)
    assert edited.returncode == 0, edited.stderr
    assert "hero (earlier version): done" in edited.stderr, edited.stderr
    spec = spec_of(write_spec, "Version one.")
    back = emu.shotbuild("build", str(spec), env=env)  # changing it back costs nothing
    assert back.returncode == 0 and "0 built, 1 restored" in back.stderr, back.stderr
    assert emu.counts["jobs"] == 2


def test_a_real_origins_earlier_job_is_not_asked_of_the_emulator(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    """The other way round stays as it was: the emulator never sees a job another
    origin made (it waits, listed, for a build against that origin)."""
    spec = spec_of(write_spec, "Version one.")
    killed = emu.shotbuild("build", str(spec), env=emu.env(SHOTBUILD_TEST_CRASH_AT="mid-download"))
    assert killed.returncode == -9, killed.stderr
    spec = spec_of(write_spec, "Version two.")
    elsewhere = emu.shotbuild("plan", str(spec), env=emu.env(HEYGEN_BASE_URL="https://api.x.test"))
    assert "earlier version" not in elsewhere.stdout, elsewhere.stdout
