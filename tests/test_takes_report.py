"""What a build says of takes: its summary counts each shot once (a shot whose take 1
was up to date and whose other takes were rendered is built, not also up to date,
and the takes rendered are counted beside it), and `--dry-run --json` names the
shot in `name` and the take in `take`. The real CLI against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunningEmulator, SpecWriter

KEY = "sk-takes-report-2d4"


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
    return emulator(api_key=KEY, latency=0.0, seed=11, clock=time.monotonic)


def summary(emu: RunningEmulator, spec: Path, *args: str) -> str:
    done = emu.shotbuild("build", str(spec), *args)
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()[-1]


def test_a_shot_whose_other_takes_were_rendered_is_built_not_also_up_to_date(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    spec = write_spec(spec_text(a_takes=1))
    first = summary(emu, spec)
    assert first.startswith("shotbuild: 2 built, 0 restored, 0 up to date, 0 failed; 8 seconds")
    spec.write_text(spec_text(a_takes=3))
    more = summary(emu, spec)  # a: take 1 up to date, takes 2 and 3 rendered; b up to date
    assert more == (
        "shotbuild: 1 built (2 takes), 0 restored, 1 up to date, 0 failed; 8 seconds of"
        " video; paid this run: 2 renders, $14.00"
    )
    spec.write_text(spec_text(a_takes=4))
    done = emu.shotbuild("build", str(spec), "--json")
    doc = json.loads(done.stdout)
    assert (doc["built"], doc["up_to_date"], doc["built_takes"]) == (["a"], ["b"], 1)
    again = summary(emu, spec)  # nothing to do: the line every build without takes prints
    assert again == (
        "shotbuild: 0 built, 0 restored, 2 up to date, 0 failed; 0 seconds of video;"
        " paid this run: 0 renders, $0.00"
    )


def test_a_first_build_of_takes_counts_the_shots_and_the_takes(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    spec = write_spec(spec_text(a_takes=3))
    line = summary(emu, spec)
    assert line.startswith("shotbuild: 2 built (4 takes), 0 restored, 0 up to date, 0 failed;")


def test_dry_run_json_names_the_shot_and_gives_the_take(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    spec = write_spec(spec_text(a_takes=1))
    summary(emu, spec)
    b = "  b: {prompt: The founder waves goodbye.}"
    spec.write_text(spec_text(a_takes=3).replace(b, "  c: {prompt: The founder sits.}"))
    done = emu.shotbuild("build", str(spec), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    rows = [(w["name"], w["take"], w["label"]) for w in json.loads(done.stdout)["dry_run"]]
    assert rows == [
        ("c", 1, "c"),  # the shot's own render is its take 1
        ("b", None, "b"),  # a removal is of no take
        ("a", 2, "a (take 2)"),
        ("a", 3, "a (take 3)"),
    ]
    text = emu.shotbuild("build", str(spec), "--dry-run").stderr
    assert "a (take 2): would submit (4 s of video): take 2 of the 3 takes wanted" in text
    assert "c: would submit (4 s of video)" in text and "b: would remove" in text
