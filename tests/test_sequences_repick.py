"""A re-pick re-assembles the cut, end to end: the real CLI in child processes
against the emulator on 127.0.0.1 (renders are preview animatics, one per job),
creates counted by the emulator's /_emulator/stats. And the plan prices the
shots a waiting cut needs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import av
import opentimelineio as otio
import pytest
from conftest import SPEC_HEAD, RunningEmulator, SpecWriter

from shotbuild.store.lock import read_lock_file

KEY = "sk-sequences-repick-7c41"
SEED = 3
EMULATOR = {"video_factory": None}  # the emulator's own preview renders: real frames to cut
FRAME = 0.25  # the animatics run at 4 fps
SPEC = (
    SPEC_HEAD
    + """\
  a: {prompt: The founder says hello.}
  b: {prompt: The founder waves goodbye., duration: 5}
sequences:
  film:
    shots: [a, {shot: b, in: 1, out: 3}]
  teaser:
    shots: [{shot: a, out: 2}]
  outro:
    shots: [b]
"""
)


def jobs(emu: RunningEmulator) -> tuple[int, int]:
    """Jobs started and create requests received, as the emulator counts them."""
    stats = emu.stats()
    return int(str(stats["jobs"])), int(str(stats["creates_total"]))


def cut(built_spec: Path, name: str = "film") -> Path:
    return built_spec.parent / "build" / f"{name}.mp4"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.duration is not None and video.time_base is not None
        return float(video.duration * video.time_base)


def stat(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_ino


def test_a_re_pick_re_assembles_the_cut_and_renders_nothing(
    built_spec: Path, emu: RunningEmulator
) -> None:
    film, teaser, outro = cut(built_spec), cut(built_spec, "teaser"), cut(built_spec, "outro")
    assert abs(seconds(film) - 6.0) < FRAME
    first = sha(film)
    rerolled = emu.shotbuild("reroll", "a", str(built_spec))
    assert rerolled.returncode == 0, rerolled.stderr
    assert sha(film) == first  # a new take, not picked: the cut is as it was
    before, untouched = jobs(emu), stat(outro)

    picked = emu.shotbuild("pick", "a", "2", str(built_spec))
    assert picked.returncode == 0, picked.stderr
    lines = picked.stderr.splitlines()
    assert lines[0].startswith("a: take 2 picked: ")
    assert [line.split(" (")[0] for line in lines[1:]] == [
        "film: assembled film.mp4",
        "teaser: assembled teaser.mp4",
    ]
    assert "(a changed; " in lines[1]
    assert jobs(emu) == before  # no create request at all
    assert sha(film) != first and abs(seconds(film) - 6.0) < FRAME
    assert abs(seconds(teaser) - 2.0) < FRAME
    assert stat(outro) == untouched  # b's cut has nothing of a

    take2 = read_lock_file(built_spec.with_suffix(".lock")).shots["a"].takes[2]
    timeline = otio.adapters.read_from_file(str(film.with_suffix(".otio")))
    clips = list(timeline.find_clips())
    refs = [film.parent / c.media_reference.target_url for c in clips]
    assert [c.name for c in clips] == ["a", "b"] and all(p.is_file() for p in refs)
    assert sha(refs[0]) == take2.sha256  # the clip is the picked take's file
    assert [c.source_range.duration.to_seconds() for c in clips] == [4.0, 2.0]

    made = stat(film)
    again = emu.shotbuild("pick", "a", "2", str(built_spec))
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines() == [
        line.replace("picked:", "picked (it was picked already):") for line in lines[:1]
    ]
    assert stat(film) == made and jobs(emu) == before


def test_a_cut_whose_member_is_gone_says_what_to_run(
    built_spec: Path, emu: RunningEmulator
) -> None:
    assert emu.shotbuild("reroll", "a", str(built_spec)).returncode == 0
    before, film = jobs(emu), stat(cut(built_spec))
    (built_spec.parent / "build" / "b.mp4").unlink()
    picked = emu.shotbuild("pick", "a", "2", str(built_spec))
    assert picked.returncode == 0, picked.stderr
    assert picked.stderr.splitlines()[1:] == [
        "film: not assembled, waiting for b; run `shotbuild build shots.yaml` to assemble it",
        "teaser: assembled teaser.mp4 (a changed; re-encode, 2 s)",
    ]
    assert stat(cut(built_spec)) == film
    built = emu.shotbuild("build", str(built_spec))
    assert built.returncode == 0, built.stderr
    assert "film: assembled film.mp4 (a changed; " in built.stderr
    assert jobs(emu) == before  # b came back from the cache


def test_the_plan_prices_the_shots_a_cut_waits_for(
    write_spec: SpecWriter, emu: RunningEmulator
) -> None:
    built_spec = write_spec(SPEC)
    text = emu.shotbuild("plan", str(built_spec))
    assert text.returncode == 0, text.stderr
    assert "film    sequence: waiting for 2 shots: a, b (2 renders, $14.00)" in text.stdout
    assert "outro   sequence: waiting for 1 shot: b (1 render, $7.00)" in text.stdout
    doc = json.loads(emu.shotbuild("plan", "--json", str(built_spec)).stdout)
    film = doc["sequences"][0]
    assert (film["waits_for"], film["waits_for_renders"]) == (["a", "b"], 2)
    assert film["waits_for_cost"] == {"amount": "14.00", "currency": "USD"}

    assert emu.shotbuild("build", str(built_spec)).returncode == 0
    (built_spec.parent / "build" / "b.mp4").unlink()  # paid for: the cache has it
    text = emu.shotbuild("plan", str(built_spec))
    assert "teaser  sequence: up to date: members and trims unchanged" in text.stdout
    waiting = "waiting for 1 shot: b (nothing to pay: a build restores or finishes them)"
    assert f"film    sequence: {waiting}" in text.stdout
    doc = json.loads(emu.shotbuild("plan", "--json", str(built_spec)).stdout)
    film = doc["sequences"][0]
    assert film["waits_for_renders"] == 0 and film["waits_for_cost"]["amount"] == "0.00"


def test_a_pick_on_the_review_page_re_assembles_too(
    built_spec: Path, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.review.model import pick
    from shotbuild.spec import load_spec

    assert emu.shotbuild("reroll", "a", str(built_spec)).returncode == 0
    before, first = jobs(emu), sha(cut(built_spec))
    for name, value in emu.env().items():
        if name in ("HEYGEN_API_KEY", "HEYGEN_BASE_URL"):
            monkeypatch.setenv(name, value)
    assert pick(load_spec(built_spec), "a", 2).number == 2
    assert sha(cut(built_spec)) != first and abs(seconds(cut(built_spec)) - 6.0) < FRAME
    assert jobs(emu) == before


def test_a_cut_that_cannot_be_re_assembled_fails_the_pick_by_name(
    built_spec: Path, emu: RunningEmulator
) -> None:
    assert emu.shotbuild("reroll", "a", str(built_spec)).returncode == 0
    (built_spec.parent / "build" / ".shotbuild-sequences.json").unlink()  # cuts not vouched for
    film = cut(built_spec).read_bytes()
    picked = emu.shotbuild("pick", "a", "2", str(built_spec))
    assert picked.returncode == 1, picked.stderr
    lines = picked.stderr.splitlines()
    assert lines[0].startswith("a: take 2 picked: ")  # the take is in place; its cuts are not
    assert lines[1:] == [
        f"{name}: not assembled: {cut(built_spec, name)} exists and was not written by"
        " shotbuild; move it away and build again"
        for name in ("film", "teaser")
    ]
    assert cut(built_spec).read_bytes() == film
    assert read_lock_file(built_spec.with_suffix(".lock")).shots["a"].pick == 2
