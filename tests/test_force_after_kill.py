"""`build --force` of a shot the lock has no entry for, whose take 1 a killed build
left behind (kill -9 after its render was on record, or its job created, before the
lock was written): nobody has seen that take in the lock, so the force adopts it as
the shot's take 1 and pays nothing again. The real CLI against the emulator, killed
at the engine's crash points (shotbuild/build/crash.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from conftest import RunningEmulator, SpecWriter

from shotbuild.store.lock import read_lock_file

KEY = "sk-force-after-kill-5c2"
SHOTS = "".join(f"  s{n}: {{prompt: The founder says {n}.}}\n" for n in range(3))
SPEC = "version: 1\ndefaults: {avatar_id: [look_founder], duration: 4}\nshots:\n" + SHOTS


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.0, seed=17, clock=time.monotonic)


# after-create: the job created, not finished; records-staged: the render downloaded and
# in place, its records not committed; lock-pending: a later shot's records committed
# (the earlier ones' too), the lock's batched write not made
@pytest.mark.parametrize("point", ["after-create", "records-staged", "lock-pending"])
def test_force_after_a_kill_before_the_lock_adopts_take_1(
    emu: RunningEmulator, write_spec: SpecWriter, point: str
) -> None:
    spec = write_spec(SPEC)
    env = emu.env(SHOTBUILD_TEST_CRASH_AT=point)
    killed = emu.shotbuild("build", str(spec), "-j", "1", env=env)
    assert killed.returncode == -9, killed.stderr
    locked = read_lock_file(spec.with_suffix(".lock")).shots
    unlocked = [f"s{n}" for n in range(3) if f"s{n}" not in locked]
    assert unlocked and emu.counts["jobs"] > len(locked)  # a job the lock does not name

    forced = emu.shotbuild("build", "--force", unlocked[0], str(spec), "-j", "1")
    assert forced.returncode == 0, forced.stderr
    assert emu.counts["jobs"] == 3, forced.stderr  # each shot once: the killed build's jobs kept
    shot = read_lock_file(spec.with_suffix(".lock")).shots[unlocked[0]]
    assert shot.numbers == [1] and shot.pick == 1

    again = emu.shotbuild("build", "--force", unlocked[0], str(spec))  # now a new take
    assert again.returncode == 0, again.stderr
    assert emu.counts["jobs"] == 4
    shot = read_lock_file(spec.with_suffix(".lock")).shots[unlocked[0]]
    assert shot.numbers == [1, 2] and shot.pick == 2
