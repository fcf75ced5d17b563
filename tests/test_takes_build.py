"""`takes: N` end to end: the real CLI in child processes against the emulator on
127.0.0.1, creates counted by the emulator (each take is its own job)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningEmulator, SpecWriter

from shotbuild.store.lock import read_lock_file
from shotbuild.takes import idempotency_key, take_key

KEY = "sk-takes-build-51c0"


def spec_text(a_takes: int | None = None, b_takes: int | None = None) -> str:
    a = f", takes: {a_takes}" if a_takes is not None else ""
    b = f", takes: {b_takes}" if b_takes is not None else ""
    return (
        "version: 1\n"
        "defaults:\n"
        "  avatar_id: [look_founder]\n"
        "  duration: 4\n"
        "shots:\n"
        f"  a: {{prompt: The founder says hello.{a}}}\n"
        f"  b: {{prompt: The founder waves goodbye.{b}}}\n"
    )


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.0, seed=5, clock=time.monotonic)


def lock_of(spec: Path) -> Any:
    return read_lock_file(spec.with_suffix(".lock"))


def build(emu: RunningEmulator, spec: Path, *args: str) -> str:
    done = emu.shotbuild("build", str(spec), *args)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_takes_3_renders_3_then_nothing_then_only_the_new_one(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    spec = write_spec(spec_text(a_takes=3))
    err = build(emu, spec)
    assert emu.creates == 4, err  # a: 3 takes, b: 1
    assert "a (take 2): done" in err and "a (take 3): done" in err
    assert "2 built" in err and "paid this run: 4 renders, $28.00" in err
    a = lock_of(spec).shots["a"]
    assert a.numbers == [1, 2, 3] and a.pick == 1
    assert [a.takes[n].key for n in (1, 2, 3)] == [take_key(a.key, n) for n in (1, 2, 3)]
    assert len({a.takes[n].video_id for n in (1, 2, 3)}) == 3  # three jobs, three videos
    output = spec.parent / "build" / "a.mp4"
    assert output.stat().st_size == a.takes[1].size  # take 1 is the output
    listed = emu.shotbuild("takes", str(spec), "a", "--json")
    rows = json.loads(listed.stdout)["takes"]
    assert [(r["take"], r["picked"]) for r in rows] == [(1, True), (2, False), (3, False)]

    again = build(emu, spec)
    assert emu.creates == 4 and "2 up to date" in again
    assert "paid this run: 0 renders" in again

    spec.write_text(spec_text(a_takes=4))
    raised = build(emu, spec)
    assert emu.creates == 5 and "a (take 4): done" in raised
    assert lock_of(spec).shots["a"].numbers == [1, 2, 3, 4]

    spec.write_text(spec_text(a_takes=1))  # lowering drops no take
    lowered = build(emu, spec)
    assert emu.creates == 5 and "2 up to date" in lowered
    assert lock_of(spec).shots["a"].numbers == [1, 2, 3, 4]
    check = emu.shotbuild("lock", "--check", str(spec))
    assert check.returncode == 0, check.stderr


def test_each_take_sends_its_own_idempotency_key(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    spec = write_spec(spec_text(a_takes=2))
    build(emu, spec)
    a = lock_of(spec).shots["a"]
    held = emu.world.held  # Idempotency-Key -> what the emulator answered
    for n in (1, 2):
        assert idempotency_key(take_key(a.key, n), 1) in held


def test_the_plan_speaks_in_takes(write_spec: SpecWriter, emu: RunningEmulator) -> None:
    spec = write_spec(spec_text())
    build(emu, spec)
    plain = emu.shotbuild("plan", str(spec))
    assert "takes" not in plain.stdout  # takes: 1 reads as it always has
    spec.write_text(spec_text(a_takes=3))
    plan = emu.shotbuild("plan", str(spec), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    line = next(x for x in plan.stdout.splitlines() if x.startswith("a "))
    assert line.split()[1:4] == ["up", "to", "date"]
    assert "3 takes wanted, 1 on record: 2 to render  8 s, $14.00" in line, line
    assert "(2 renders, $14.00)" in plan.stdout.splitlines()[-1]
    doc = json.loads(emu.shotbuild("plan", str(spec), "--json").stdout)
    a = next(s for s in doc["shots"] if s["name"] == "a")
    assert (a["takes_wanted"], a["takes_on_record"], a["renders"]) == (3, 1, 2)
    assert a["cost"] == {"amount": "14.00", "currency": "USD"} and a["seconds"] == 8
    assert [(t["take"], t["status"]) for t in a["takes_planned"]] == [(2, "new"), (3, "new")]
    assert (doc["renders"], doc["cost"]["amount"], doc["pending"]) == (2, "14.00", True)
    b = next(s for s in doc["shots"] if s["name"] == "b")
    assert (b["takes_wanted"], b["takes_on_record"], b["renders"]) == (1, 1, 0)
    dry = emu.shotbuild("build", str(spec), "--dry-run")
    assert "a (take 2): would submit (4 s of video): take 2 of the 3 takes wanted" in dry.stderr


def test_max_cost_and_max_seconds_count_every_take(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    spec = write_spec(spec_text(a_takes=3, b_takes=1))
    refused = emu.shotbuild("build", str(spec), "--only", "a", "--max-cost", "14")
    assert refused.returncode == 1, refused.stderr
    assert "$21.00 on 3 renders" in refused.stderr and emu.creates == 0
    capped = emu.shotbuild("build", str(spec), "--only", "a", "--max-seconds", "8")
    assert capped.returncode == 1 and "12 s of video" in capped.stderr
    assert emu.creates == 0
    build(emu, spec, "--only", "a", "--max-cost", "21")
    assert emu.creates == 3


@pytest.mark.parametrize("point", ["before-create", "after-create", "mid-download"])
def test_a_killed_build_of_takes_resumes_and_pays_once(
    write_spec: SpecWriter, emu: RunningEmulator, point: str
) -> None:
    spec = write_spec(spec_text())
    build(emu, spec)
    spec.write_text(spec_text(a_takes=3))  # the build's only work: takes 2 and 3 of a
    env = emu.env(SHOTBUILD_TEST_CRASH_AT=point)
    killed = emu.shotbuild("build", str(spec), env=env)
    assert killed.returncode == -9, killed.stderr  # SIGKILL at the point
    assert lock_of(spec).shots["a"].numbers == [1]
    again = emu.shotbuild("build", str(spec))
    assert again.returncode == 0, again.stderr
    a = lock_of(spec).shots["a"]
    assert a.numbers == [1, 2, 3] and emu.creates == 4  # every take paid once
    assert len({a.takes[n].video_id for n in (1, 2, 3)}) == 3
    assert emu.creates == 4 and "2 up to date" in emu.shotbuild("build", str(spec)).stderr


def test_a_take_killed_after_its_create_is_resumed_not_sent_again(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    spec = write_spec(spec_text())
    build(emu, spec)
    spec.write_text(spec_text(a_takes=2))
    env = emu.env(SHOTBUILD_TEST_CRASH_AT="after-create")
    assert emu.shotbuild("build", str(spec), env=env).returncode != 0
    assert emu.creates == 3  # take 2's job was made; its answer was never stored
    plan = emu.shotbuild("plan", str(spec))
    line = next(x for x in plan.stdout.splitlines() if x.startswith("a "))
    assert "2 takes wanted, 1 on record: 1 in flight" in line, line
    again = emu.shotbuild("build", str(spec))
    assert again.returncode == 0, again.stderr
    assert "same Idempotency-Key" in again.stderr and emu.creates == 3
    assert lock_of(spec).shots["a"].numbers == [1, 2]


def test_machines_building_the_same_takes_pay_once(tmp_path: Path, emu: RunningEmulator) -> None:
    """Three machines, each its own folder and cache, build the same spec with
    `takes: 3`: the first pays; the second gets every take from the shared remote
    cache (0 creates, and its plan counts 0 renders); the third, with no remote
    cache, sends each take's own Idempotency-Key and HeyGen replays its job."""
    remote = tmp_path / "remote"
    remote.mkdir()
    shared = {"SHOTBUILD_REMOTE_CACHE": remote.as_uri(), "SHOTBUILD_REMOTE_CACHE_MODE": "readwrite"}
    specs = []
    for name in ("one", "two", "three"):
        (tmp_path / name).mkdir()
        spec = tmp_path / name / "shots.yaml"
        spec.write_text(spec_text(a_takes=3))
        specs.append(spec)

    def env(name: str, **extra: str) -> dict[str, str]:
        return emu.env(SHOTBUILD_CACHE_DIR=str(tmp_path / f"cache-{name}"), **extra)

    first = emu.shotbuild("build", str(specs[0]), env=env("one", **shared))
    assert first.returncode == 0, first.stderr
    assert emu.creates == 4
    plan = emu.shotbuild("plan", str(specs[1]), "--json", env=env("two", **shared))
    a = next(s for s in json.loads(plan.stdout)["shots"] if s["name"] == "a")
    assert (a["renders"], a["cost"]["amount"]) == (0, "0.00")
    second = emu.shotbuild("build", str(specs[1]), env=env("two", **shared))
    assert second.returncode == 0, second.stderr
    third = emu.shotbuild("build", str(specs[2]), env=env("three"))
    assert third.returncode == 0, third.stderr
    assert emu.creates == 4  # every take paid once, by the first machine
    takes = [lock_of(spec).shots["a"].takes for spec in specs]
    ids = [{n: t.video_id for n, t in shot.items()} for shot in takes]
    assert ids[0] == ids[1] == ids[2] and sorted(ids[0]) == [1, 2, 3]
