"""Crash soak: a 20-shot build killed with SIGKILL at a random moment, then run
again to completion, many times: never a second job for a shot, never a partial
or wrong file in build/, the lock valid after every kill and complete at the end.
Then the same over rerolls and forces: `shotbuild reroll` and `build --force`
killed and run again, each take paid once.

    SHOTBUILD_SOAK_TRIALS=30 python -m pytest -m slow tests/soak/test_soak_crash.py
    SHOTBUILD_SOAK_REROLL_TRIALS=20 python -m pytest -m slow tests/soak/test_soak_crash.py"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import soak_support as soak

from shotbuild.store.lock import read_lock_file

SHOTS = 20
# the engine's crash points (records-staged: a render downloaded, its cache records and
# its job's done record staged for the next commit; lock-pending: the lock's batched
# write not yet made)
POINTS = ("before-create", "after-create", "mid-download", "records-staged", "lock-pending")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def test_kill_9_at_random_moments_never_pays_twice_or_corrupts(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    trials = soak.trials("CRASH", 3)
    names = [f"shot-{i:03d}" for i in range(SHOTS)]
    killed_running = 0
    reruns = 0
    points: Counter[str] = Counter()
    for trial in range(trials):
        with soak.emulator(latency=0.5, concurrency=10, seed=trial) as emu:
            folder = tmp_path / f"trial-{trial}"
            spec = soak.write_spec(folder, SHOTS)
            env = soak.build_env(emu, folder / "cache")
            first_env = dict(env)
            if trial % 3 == 2:  # every third trial: kill -9 at one of the engine's crash points
                point = rng.choice(POINTS)
                points[point] += 1
                first_env["SHOTBUILD_TEST_CRASH_AT"] = point
            proc = subprocess.Popen(
                soak.build_cmd(spec, "-j", "8"),
                env=first_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.05, 4.5))  # a full build takes about 4-5 s here
            if proc.poll() is None:
                killed_running += 1
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            soak.lock_is_valid(spec)  # whatever the moment: a valid lock, or none yet
            for _ in range(3):  # run again to completion
                reruns += 1
                again = soak.run_build(spec, env)
                if again.returncode == 0:
                    break
            assert again.returncode == 0, again.stderr
            assert soak.lock_is_valid(spec) == SHOTS
            assert soak.corrupt_outputs(spec, names) == []
            assert emu.paid_twice() == []
            assert max(emu.jobs_per_prompt().values()) == 1
            assert emu.world.stats.jobs == SHOTS
    soak.report(
        "crash soak",
        f"{trials} trials of a {SHOTS}-shot build killed with SIGKILL at a random moment"
        f" between 0.05 and 4.5 s ({killed_running} still running when the timer fired; every"
        f" third trial also armed an engine crash point, kill -9 from inside: {dict(points)}),"
        f" {reruns} re-runs:"
        " duplicate jobs = 0, corrupt or partial files = 0, lock valid after every kill and"
        " complete after every re-run",
    )


# -- rerolls and forces killed --------------------------------------------------------

TAKE_SHOTS = 4
# and new-take-held: one of the command's new takes on record in the cache, held from
# build/ and the lock until its other takes land (a kill there once made the next run
# pay for a further take of the shot whose take had reached the lock)
TAKE_POINTS = (*POINTS, "new-take-held", "picks-placed")


def _lock_takes(spec: Path) -> dict[str, dict[int, str]]:
    """Shot -> take number -> video_id, from a lock that must read (raises when damaged;
    a pick naming a missing take is a damaged lock too)."""
    lock = read_lock_file(spec.with_suffix(".lock"))
    return {n: {t: e.video_id for t, e in s.takes.items()} for n, s in lock.shots.items()}


def _picks(spec: Path) -> dict[str, int]:
    return {n: s.pick for n, s in read_lock_file(spec.with_suffix(".lock")).shots.items()}


def _kept(before: dict[str, dict[int, str]], after: dict[str, dict[int, str]]) -> bool:
    """Every take `before` had is still there, the same render."""
    return all(after[n].get(t) == v for n, takes in before.items() for t, v in takes.items())


def _round(rng: random.Random, trial: int, names: list[str]) -> tuple[list[str], list[str], bool]:
    """This round's command (a reroll, with or without --pick, or a build --force) of
    two shots; the shots; whether the new takes become the picks."""
    shots = rng.sample(names, 2)
    kind = trial % 3
    if kind == 0:
        return ["build", "--force", shots[0], "--force", shots[1]], shots, True
    if kind == 1:
        return ["reroll", *shots], shots, False
    return ["reroll", "--pick", *shots], shots, True


def test_kill_9_during_rerolls_and_forces_never_pays_twice(tmp_path: Path) -> None:
    """`shotbuild reroll` and `build --force` killed with SIGKILL at a random moment
    (and at the engine's crash points), then run again until their takes are on
    record: each take is paid once (the emulator's jobs are exactly the lock's takes),
    no take on record is ever lost, the lock is valid after every kill, and the
    outputs are the picked takes."""
    rng = random.Random(20261201)
    rounds = soak.trials("REROLL", 4)
    names = [f"shot-{i:03d}" for i in range(TAKE_SHOTS)]
    points: Counter[str] = Counter()
    killed_running = reruns = 0
    with soak.emulator(latency=0.0, concurrency=10, seed=11) as emu:
        spec = soak.write_spec(tmp_path / "reroll", TAKE_SHOTS)
        env = soak.build_env(emu, tmp_path / "reroll" / "cache")
        assert soak.run_build(spec, env).returncode == 0
        for trial in range(rounds):
            args, shots, picks = _round(rng, trial, names)
            before, picked = _lock_takes(spec), _picks(spec)
            first_env = dict(env)
            if trial % 2 == 1:  # every other round: kill -9 from inside, at a crash point
                point = TAKE_POINTS[(trial // 2) % len(TAKE_POINTS)]
                points[point] += 1
                first_env["SHOTBUILD_TEST_CRASH_AT"] = point
            cmd = soak.shotbuild_cmd(*args, str(spec))
            proc = subprocess.Popen(
                cmd, env=first_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.3, 2.0))  # a reroll takes about 1.5-4 s here
            if proc.poll() is None:
                killed_running += 1
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            now = _lock_takes(spec)  # whatever the moment: a valid lock
            assert _kept(before, now)
            for _ in range(3):  # run again until both takes are on record
                if all(len(now[s]) == len(before[s]) + 1 for s in shots):
                    break
                reruns += 1
                again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
                assert again.returncode == 0, again.stderr
                now = _lock_takes(spec)
                assert _kept(before, now)
            assert all(len(now[s]) == len(before[s]) + 1 for s in shots), now
            expected = {**picked, **{s: max(now[s]) for s in shots}} if picks else picked
            assert _picks(spec) == expected
            on_record = [v for takes in now.values() for v in takes.values()]
            assert sorted(on_record) == sorted(emu.world.jobs)  # each job a take, none twice
        assert emu.world.stats.jobs == TAKE_SHOTS + 2 * rounds
        assert soak.corrupt_outputs(spec, names) == []
    soak.report(
        "reroll crash soak",
        f"{rounds} rounds of `shotbuild reroll` / `build --force` of 2 of {TAKE_SHOTS} shots"
        f" killed with SIGKILL at a random moment between 0.3 and 2 s ({killed_running}"
        f" still running when the timer fired; engine crash points armed: {dict(points)}),"
        f" {reruns} re-runs: duplicate creates = 0 (the emulator's jobs are exactly the"
        " lock's takes), no take lost, lock valid after every kill, outputs = the picks",
    )
