"""Concurrency: two builds of one spec at once (one waits for the other or
refuses with a clear message; nothing lost or corrupt), and two machines
writing one `file://` remote cache at once (every object complete and
verified; a third machine restores everything from it without a create).

    SHOTBUILD_SOAK_TRIALS=10 python -m pytest -m slow tests/soak/test_soak_concurrency.py"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import soak_support as soak

from shotbuild.store.lock import LockEntry

SHOTS = 12
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
NAMES = [f"shot-{i:03d}" for i in range(SHOTS)]


def _together(*runs: tuple[Path, dict[str, str]]) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            soak.build_cmd(spec, "-j", "6"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for spec, env in runs
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_two_builds_of_one_spec_at_once(tmp_path: Path) -> None:
    trials = soak.trials("CONCURRENCY", 2)
    refused = waited = 0
    for trial in range(trials):
        # a build of 12 shots takes about 3 s; the build lock waits 5 s, so the
        # second one either waits its turn or (latency 4 s) refuses after 5 s
        latency = 0.3 if trial % 2 == 0 else 4.0
        with soak.emulator(latency=latency, concurrency=20, seed=trial) as emu:
            folder = tmp_path / f"trial-{trial}"
            spec = soak.write_spec(folder, SHOTS)
            env = soak.build_env(emu, folder / "cache")
            first, second = _together((spec, env), (spec, env))
            for run in (first, second):
                if run.returncode != 0:
                    assert run.returncode == 1, run.stderr
                    assert "another shotbuild build is running" in run.stderr, run.stderr
                    assert "Traceback" not in run.stderr
                    refused += 1
            assert 0 in (first.returncode, second.returncode)
            waited += first.returncode == second.returncode == 0
            assert soak.lock_is_valid(spec) == SHOTS
            assert soak.corrupt_outputs(spec, NAMES) == []
            assert emu.world.stats.jobs == SHOTS  # the one that waited restored, paid nothing
            assert emu.paid_twice() == []
    soak.report(
        "two builds of one spec",
        f"{trials} trials: {waited} where the second build waited and then found everything"
        f" up to date, {refused} refused with 'another shotbuild build is running ... (pid N)';"
        " jobs paid once, lost or corrupt outputs = 0",
    )


def test_two_machines_write_one_remote_cache_at_once(tmp_path: Path) -> None:
    trials = soak.trials("CONCURRENCY", 2)
    blobs_checked = 0
    for trial in range(trials):
        remote = tmp_path / f"remote-{trial}"
        with soak.emulator(latency=0.3, concurrency=40, seed=trial) as emu:
            machines = []
            for name in ("a", "b"):
                folder = tmp_path / f"trial-{trial}-{name}"
                spec = soak.write_spec(folder, SHOTS)
                env = soak.build_env(
                    emu,
                    folder / "cache",
                    SHOTBUILD_REMOTE_CACHE=f"file://{remote}",
                    SHOTBUILD_REMOTE_CACHE_MODE="readwrite",
                )
                machines.append((spec, env))
            for run in _together(*machines):
                assert run.returncode == 0, run.stderr
            for spec, _ in machines:
                assert soak.corrupt_outputs(spec, NAMES) == []
            # every object in the shared cache is complete: blobs hash to their names,
            # results are valid entries naming a blob that is there
            blobs = [p for p in (remote / "blobs").glob("??/*")]
            for blob in blobs:
                assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
            results = list((remote / "results").glob("??/*.json"))
            assert len(results) == SHOTS
            for result in results:
                entry = LockEntry(**json.loads(result.read_text()))
                assert (remote / "blobs" / entry.sha256[:2] / entry.sha256).exists()
            assert (
                not [p for p in (remote / "tmp").glob("*")] if (remote / "tmp").exists() else True
            )
            blobs_checked += len(blobs)
            jobs = emu.world.stats.jobs
            # a third machine, a fresh clone, restores every shot from it: no create
            folder = tmp_path / f"trial-{trial}-c"
            spec = soak.write_spec(folder, SHOTS)
            env = soak.build_env(emu, folder / "cache", SHOTBUILD_REMOTE_CACHE=f"file://{remote}")
            third = soak.run_build(spec, env)
            assert third.returncode == 0, third.stderr
            assert emu.world.stats.jobs == jobs
            assert len(list((folder / "build").glob("*.mp4"))) == SHOTS
    soak.report(
        "two machines, one remote cache",
        f"{trials} trials of two {SHOTS}-shot builds pushing to one file:// cache at once:"
        f" {blobs_checked} blobs all matching their sha256, every result valid and naming a"
        " present blob, no temporary files left; a third machine restored every shot with"
        " zero creates",
    )
