"""`status` and `plan` after a killed `build --force` (or `reroll`): take 1 is still
the output, so the shot is up to date, and its line also says that its new take is
unfinished and what resumes it; a force killed after its job was created is that
take, not a job of an "earlier version". The real CLI against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from conftest import RunningEmulator, SpecWriter

KEY = "sk-force-status-8a1"
SPEC = (
    "version: 1\n"
    "defaults: {avatar_id: [look_founder], duration: 4}\n"
    "shots:\n"
    "  intro: {prompt: The founder says hello.}\n"
    "  outro: {prompt: The founder waves goodbye.}\n"
)


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.0, seed=13, clock=time.monotonic)


@pytest.mark.parametrize(
    ("point", "command"),
    [
        ("before-create", "force"),
        ("after-create", "force"),
        ("mid-download", "force"),
        ("mid-download", "reroll"),
    ],
)
def test_status_after_a_killed_force_says_its_take_is_unfinished(
    emu: RunningEmulator, write_spec: SpecWriter, point: str, command: str
) -> None:
    spec = str(write_spec(SPEC))
    assert emu.shotbuild("build", spec).returncode == 0
    args = ("build", "--force", "intro") if command == "force" else ("reroll", "intro")
    killed = emu.shotbuild(*args, spec, env=emu.env(SHOTBUILD_TEST_CRASH_AT=point))
    assert killed.returncode == -9, killed.stderr
    jobs = emu.counts["jobs"]

    for check in ("status", "plan"):
        shown = emu.shotbuild(check, spec)
        assert shown.returncode == 0, shown.stderr
        intro = next(line for line in shown.stdout.splitlines() if line.startswith("intro "))
        assert intro.split()[1:4] == ["up", "to", "date"], intro  # take 1 is the output
        assert "take 2 (a reroll or --force) unfinished" in intro, shown.stdout
        assert "`shotbuild build --force intro` or `shotbuild reroll intro` resumes it" in intro
        assert "earlier version" not in shown.stdout, shown.stdout
        doc = json.loads(emu.shotbuild(check, spec, "--json").stdout)
        shot = next(s for s in doc["shots"] if s["name"] == "intro")
        assert shot["status"] == "up to date" and shot["take_unfinished"]["take"] == 2
        assert all("earlier version" not in o["status"] for o in doc["orphans"])
    if point == "mid-download":  # a job was created: status asks the API about it
        doc = json.loads(emu.shotbuild("status", spec, "--json").stdout)
        shot = next(s for s in doc["shots"] if s["name"] == "intro")
        assert shot["take_unfinished"]["api_status"] == "completed"

    plain = emu.shotbuild("build", spec)  # a plain build pays for nothing new
    assert plain.returncode == 0 and "earlier version" not in plain.stderr, plain.stderr
    again = emu.shotbuild(*args, spec)  # resumed (or taken from the cache), not paid twice
    assert again.returncode == 0, again.stderr
    assert emu.counts["jobs"] == max(jobs, 3)
    done = json.loads(emu.shotbuild("status", spec, "--json").stdout)
    assert all("take_unfinished" not in s for s in done["shots"])
