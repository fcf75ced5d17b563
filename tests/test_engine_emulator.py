"""Builds against the emulator over real sockets on 127.0.0.1, including builds
killed with SIGKILL at chosen points (the test-only $SHOTBUILD_TEST_CRASH_AT hook)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SPEC_HEAD, RunningEmulator, SpecWriter

from shotbuild.store.lock import read_lock

KEY = "sk-engine-emulated-7c1d"
SPEC = (
    SPEC_HEAD
    + """\
  intro: {prompt: The founder says hello.}
  walk: {prompt: The founder walks through the office.}
  demo: {prompt: The founder demos the product., references: [{type: file, path: ref.png}]}
  outro: {prompt: The founder waves goodbye., duration: 5}
"""
)


Emu = RunningEmulator


@pytest.fixture
def spec_file(write_spec: SpecWriter) -> Path:
    return write_spec(SPEC, files={"ref.png": b"\x89PNG\r\n\x1a\n not really"})


def run(
    spec_file: Path, emu: Emu, *args: str, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = emu.env(SHOTBUILD_TEST_CRASH_AT=crash_at) if crash_at else emu.env()
    return emu.shotbuild("build", str(spec_file), *args, env=env)


def assert_complete(spec_file: Path, emu: Emu) -> None:
    lock = read_lock(spec_file.with_suffix(".lock"))
    assert sorted(lock) == ["demo", "intro", "outro", "walk"]
    for name, entry in lock.items():
        assert (spec_file.parent / "build" / f"{name}.mp4").stat().st_size == entry.size
        assert entry.origin == emu.url
    assert emu.counts["jobs"] == 4
    leftovers = [p for p in (spec_file.parent / "build").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_build_then_noop_against_the_emulator(spec_file: Path, emu: Emu) -> None:
    first = run(spec_file, emu)
    assert first.returncode == 0, first.stderr
    assert "4 built" in first.stderr and "paid this run: 4 renders, $28.00" in first.stderr
    assert_complete(spec_file, emu)
    requests = emu.counts["requests"]
    again = run(spec_file, emu)
    assert again.returncode == 0 and "4 up to date" in again.stderr
    assert emu.counts["requests"] == requests  # a no-op build asks the API nothing
    # the key is never written anywhere
    cache = Path(os.environ["SHOTBUILD_CACHE_DIR"])
    for path in [*cache.rglob("*"), *spec_file.parent.rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in first.stderr + first.stdout


@pytest.mark.parametrize("point", ["before-create", "after-create", "mid-download"])
def test_kill_9_at_any_point_then_rerun_pays_once(spec_file: Path, emu: Emu, point: str) -> None:
    crashed = run(spec_file, emu, "-j", "2", crash_at=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    lock_path = spec_file.with_suffix(".lock")
    if lock_path.exists():
        json.loads(lock_path.read_text())  # always valid JSON
    resumed = run(spec_file, emu)
    assert resumed.returncode == 0, resumed.stderr
    assert_complete(spec_file, emu)
    assert max(emu.counts["creates_per_key"].values()) <= 2  # one replay at most, never a job


def test_faults_429_5xx_drops_and_expired_links(spec_file: Path, emu: Emu) -> None:
    faults = emu.world.config.faults
    faults.rate_limit_next = 5
    faults.drop_next = 2
    faults.retry_after = 0.0
    faults.error_rate = 0.1
    result = run(spec_file, emu, "-j", "4")
    assert result.returncode == 0, result.stderr
    assert_complete(spec_file, emu)
    assert emu.counts["injected"]
    faults.error_rate = 0.0
    faults.expire_links = True
    (spec_file.parent / "build" / "walk.mp4").unlink()
    (Path(os.environ["SHOTBUILD_CACHE_DIR"])).joinpath("blobs").rename(spec_file.parent / "gone")
    failed = run(spec_file, emu)
    assert failed.returncode == 1 and "walk" in failed.stderr and "kept expiring" in failed.stderr
    faults.expire_links = False
    assert run(spec_file, emu).returncode == 0
    assert emu.counts["jobs"] == 4


def test_failed_render_with_keep_going_then_only_it_is_resubmitted(
    spec_file: Path, emu: Emu
) -> None:
    emu.world.config.faults.failure_rate = 1.0
    failed = run(spec_file, emu, "-k")
    assert failed.returncode == 1
    assert failed.stderr.count("failed:") >= 4
    emu.world.config.faults.failure_rate = 0.0
    again = run(spec_file, emu)
    assert again.returncode == 0 and "4 built" in again.stderr
    assert emu.counts["jobs"] == 8


def test_ctrl_c_keeps_submitted_jobs_and_exits_130(spec_file: Path, emu: Emu) -> None:
    emu.world.config.faults.latency = 1.0
    env = emu.env()
    cmd = [sys.executable, "-m", "shotbuild", "build", "-v", str(spec_file)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "rendering" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 130, rest
    jobs = emu.counts["jobs"]
    assert 1 <= jobs <= 4
    resumed = run(spec_file, emu)
    assert resumed.returncode == 0, resumed.stderr
    assert_complete(spec_file, emu)


def test_status_asks_the_api_about_jobs_in_flight(spec_file: Path, emu: Emu) -> None:
    emu.world.config.faults.latency = 3600.0
    spec_file.write_text(SPEC.split("  walk:")[0])
    timed_out = run(spec_file, emu, "--timeout", "1")
    assert timed_out.returncode == 1 and "stays recorded" in timed_out.stderr
    done = emu.shotbuild("status", "--json", str(spec_file), timeout=60)
    assert done.returncode == 0, done.stderr
    shot = json.loads(done.stdout)["shots"][0]
    assert shot["status"] == "in flight" and shot["api_status"] == "pending"
    assert emu.counts["jobs"] == 1


def test_status_without_a_key_still_shows_the_plan(spec_file: Path, emu: Emu) -> None:
    emu.world.config.faults.latency = 3600.0
    spec_file.write_text(SPEC.split("  walk:")[0])
    assert run(spec_file, emu, "--timeout", "1").returncode == 1
    env = {k: v for k, v in emu.env().items() if k != "HEYGEN_API_KEY"}
    done = emu.shotbuild("status", str(spec_file), env=env, timeout=60)
    assert done.returncode == 0 and "in flight" in done.stderr
    assert "HEYGEN_API_KEY" in done.stderr


def test_more_jobs_than_the_account_allows_wait_their_turn(spec_file: Path, emu: Emu) -> None:
    emu.world.config.faults.concurrency = 2
    emu.world.config.faults.latency = 0.5
    result = run(spec_file, emu, "-j", "4")
    assert result.returncode == 0, result.stderr
    assert_complete(spec_file, emu)


def test_editing_one_shot_of_fifty_renders_exactly_that_shot(tmp_path: Path, emu: Emu) -> None:
    lines = ["version: 1", "defaults: {avatar_id: [look_founder], duration: 4}", "shots:"]
    lines += [f"  shot-{i:02d}: {{prompt: Shot number {i}.}}" for i in range(50)]
    spec_file = tmp_path / "shots.yaml"
    spec_file.write_text("\n".join(lines) + "\n")
    first = run(spec_file, emu, "-j", "8")
    assert first.returncode == 0 and "50 built" in first.stderr, first.stderr[-500:]
    spec_file.write_text(spec_file.read_text().replace("Shot number 17.", "Shot seventeen redone."))
    second = run(spec_file, emu, "-j", "8")
    assert second.returncode == 0 and "1 built, 0 restored, 49 up to date" in second.stderr
    assert "shot-17: done" in second.stderr
    assert emu.counts["jobs"] == 51
    assert len(read_lock(spec_file.with_suffix(".lock"))) == 50
