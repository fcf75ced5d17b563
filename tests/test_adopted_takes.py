"""A shot whose lock entry is still under a key it had before (`keys.accepted_keys`:
made when each loopback port was its own identity, or under the other type name) is
up to date without moving its key; `takes: N` gives it its other takes beside that
take 1, under the lock's own key (as a reroll's are), and never drops take 1 or
moves a key. In process against the emulator on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunningEmulator, SpecWriter

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import BuildOptions, BuildResult, build
from shotbuild.keys import key_of
from shotbuild.lockcheck import check_lock
from shotbuild.plan import make_plan
from shotbuild.spec import load_spec
from shotbuild.status import ShotStatus
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock_file
from shotbuild.takes import take_key

KEY = "sk-adopted-takes-0c7"


def spec_text(a_takes: int = 1) -> str:
    return (
        "version: 1\n"
        "defaults: {avatar_id: [look_founder], duration: 4}\n"
        "shots:\n"
        f"  a: {{prompt: The founder says hello., takes: {a_takes}}}\n"
        "  b: {prompt: The founder waves goodbye.}\n"
    )


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.0, seed=19, clock=time.monotonic)


def build_at(emu: RunningEmulator, spec_file: Path) -> BuildResult:
    with Cache() as cache:
        backend = HeyGenBackend(emu.url, KEY, cache=cache)
        return build(load_spec(spec_file), backend, BuildOptions(), cache=cache)


def test_an_adopted_shot_gets_its_other_takes_under_the_lock_key(
    emu: RunningEmulator, write_spec: SpecWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shotbuild.keys

    spec_file = write_spec(spec_text())
    with monkeypatch.context() as old_main:  # keys as an earlier main made them: the origin
        old_main.setattr(shotbuild.keys, "key_identity", lambda identity: identity)
        assert build_at(emu, spec_file).exit_code == 0
    before = read_lock_file(spec_file.with_suffix(".lock"))
    output = (spec_file.parent / "build" / "a.mp4").read_bytes()
    old_key = before.shots["a"].key
    spec_file.write_text(spec_text(a_takes=3))
    with Cache() as cache:  # adopted: up to date, and its takes planned under the lock's key
        plan = make_plan(load_spec(spec_file), HeyGenBackend(emu.url, KEY, cache=cache), cache)
        a = next(i for i in plan.items if i.name == "a")
        assert a.status == ShotStatus.UP_TO_DATE and a.key != old_key
        assert old_key == key_of(emu.url, a.request)  # the key of an earlier version, accepted
        assert [(t.take, t.job_key) for t in plan.takes_of(a)] == [
            (2, take_key(old_key, 2)),
            (3, take_key(old_key, 3)),
        ]

    result = build_at(emu, spec_file)
    assert result.exit_code == 0 and emu.counts["jobs"] == 2 + 2  # two more takes, paid once
    after = read_lock_file(spec_file.with_suffix(".lock"))
    a_takes = after.shots["a"]
    assert a_takes.key == old_key and a_takes.numbers == [1, 2, 3] and a_takes.pick == 1
    assert a_takes.takes[1] == before.shots["a"].takes[1]  # take 1 kept, its key unmoved
    assert [a_takes.takes[n].key for n in (2, 3)] == [take_key(old_key, n) for n in (2, 3)]
    assert after.shots["b"] == before.shots["b"]  # NO KEY MAY MOVE for a shot unchanged
    assert (spec_file.parent / "build" / "a.mp4").read_bytes() == output  # take 1 still ships

    again = build_at(emu, spec_file)  # nothing more to do, and nothing moves
    assert again.built == [] and sorted(again.up_to_date) == ["a", "b"]
    assert emu.counts["jobs"] == 4 and read_lock_file(spec_file.with_suffix(".lock")) == after
    with Cache() as cache:
        spec = load_spec(spec_file)
        assert check_lock(spec, HeyGenBackend(emu.url, KEY, cache=cache), cache).ok


def test_picking_and_restoring_an_adopted_shot_moves_no_key_and_keeps_every_take(
    emu: RunningEmulator,
    write_spec: SpecWriter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import hashlib
    import shutil

    import shotbuild.keys
    from shotbuild.picking import pick

    spec_file = write_spec(spec_text(a_takes=3))
    lock_path = spec_file.with_suffix(".lock")
    with monkeypatch.context() as old_main:
        old_main.setattr(shotbuild.keys, "key_identity", lambda identity: identity)
        assert build_at(emu, spec_file).exit_code == 0
    built = read_lock_file(lock_path)
    assert built.shots["a"].numbers == [1, 2, 3] and emu.counts["jobs"] == 4

    with Cache() as cache:  # the output becomes take 2: the lock's pick, nothing else moves
        pick(load_spec(spec_file), HeyGenBackend(emu.url, KEY, cache=cache), cache, "a", 2)
    picked = read_lock_file(lock_path)
    assert picked.shots["a"] == built.shots["a"].with_pick(2), picked.shots["a"]
    assert picked.shots["b"] == built.shots["b"]
    output = spec_file.parent / "build" / "a.mp4"
    assert hashlib.sha256(output.read_bytes()).hexdigest() == built.shots["a"].takes[2].sha256

    text = lock_path.read_bytes()  # a fresh clone: the lock only, no build/ and no cache
    shutil.rmtree(spec_file.parent / "build")
    monkeypatch.setenv("SHOTBUILD_CACHE_DIR", str(tmp_path / "a-fresh-cache"))
    result = build_at(emu, spec_file)
    assert result.exit_code == 0 and sorted(result.restored) == ["a", "b"], result.built
    assert emu.counts["jobs"] == 4  # no take paid twice
    assert lock_path.read_bytes() == text  # NO KEY MAY MOVE: the lock is as it was
    assert hashlib.sha256(output.read_bytes()).hexdigest() == built.shots["a"].takes[2].sha256
