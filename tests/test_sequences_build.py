"""Assembling cuts from preview-rendered members: lengths, remux vs re-encode,
letterboxing, audio, the exports read back, and re-assembly only on change."""

from __future__ import annotations

import builtins
import os
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import opentimelineio as otio
import pytest

from shotbuild import cli
from shotbuild.preview import Card, render_mp4
from shotbuild.sequences import (
    ASSEMBLED,
    FAILED,
    SKIPPED,
    UP_TO_DATE,
    SequenceStatus,
    assemble_all,
    plan_sequences,
)
from shotbuild.sequences.record import RECORD_NAME
from shotbuild.spec import load_spec
from shotbuild.spec.model import Spec

FRAME = 0.25  # previews run at 4 fps

SPEC = """\
defaults:
  avatar_id: [look_a]
shots:
  a: {prompt: The founder walks in., duration: 5}
  b: {prompt: The founder sits down., duration: 6}
  tall: {prompt: A vertical shot., duration: 4, aspect_ratio: "9:16"}
sequences:
  film:
    shots: [a, {shot: b, in: 1, out: OUT}]
"""


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)


def render(folder: Path, name: str, seconds: float, aspect: str = "16:9", prompt: str = "") -> Path:
    path = folder / f"{name}.mp4"
    render_mp4(Card(name, prompt or f"shot {name}", ("look_a",), aspect, "720p", seconds), path)
    return path


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("members")
    return {
        "a": render(folder, "a", 5),
        "b": render(folder, "b", 6),
        "tall": render(folder, "tall", 4, "9:16"),
    }


def write_spec(folder: Path, text: str = SPEC, out: float = 3) -> Spec:
    path = folder / "shots.yaml"
    path.write_text(text.replace("OUT", f"{out:g}"))
    return load_spec(path)


def probe(path: Path) -> tuple[float, int, int, bool]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.duration is not None and video.time_base is not None
        seconds = float(video.duration * video.time_base)
        return seconds, video.width, video.height, bool(container.streams.audio)


def copy_in(members: dict[str, Path], folder: Path) -> dict[str, Path]:
    """The members as a preview build leaves them: build/preview/<shot>.mp4."""
    (folder / "build" / "preview").mkdir(parents=True, exist_ok=True)
    placed = {}
    for name, path in members.items():
        placed[name] = folder / "build" / "preview" / f"{name}.mp4"
        placed[name].write_bytes(path.read_bytes())
    return placed


def test_a_trimmed_cut_is_seven_seconds_and_exports_read_back(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    spec = write_spec(tmp_path)
    files = copy_in(members, tmp_path)
    lines = Lines()
    (result,) = assemble_all(spec, spec.build_dir, files, "preview", lines)
    out = tmp_path / "build" / "preview" / "film.mp4"
    assert result.status == ASSEMBLED and result.path == out
    assert result.method == "re-encode"  # in: 1 is not on a keyframe (every 4 s)
    seconds, width, height, _ = probe(out)
    assert abs(seconds - 7.0) < FRAME and (width, height) == (1280, 720)
    assert lines.lines == [f"film: assembled film.mp4 ({result.detail})"]

    timeline = otio.adapters.read_from_file(str(out.with_suffix(".otio")))
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == ["a", "b"]
    ranges = [
        (c.source_range.start_time.to_seconds(), c.source_range.duration.to_seconds())
        for c in clips
    ]
    assert ranges == [(0.0, 5.0), (1.0, 2.0)]
    assert [c.media_reference.target_url for c in clips] == ["a.mp4", "b.mp4"]
    assert timeline.duration().to_seconds() == 7.0

    xml = ET.parse(out.with_suffix(".xml")).getroot()
    items = xml.findall(".//clipitem")
    assert [i.findtext("name") for i in items] == ["a", "b"]
    urls = [i.findtext("file/pathurl") for i in items]
    assert urls == [files["a"].resolve().as_uri(), files["b"].resolve().as_uri()]
    assert [(i.findtext("in"), i.findtext("out")) for i in items] == [("0", "120"), ("24", "72")]
    edl = out.with_suffix(".edl").read_text()
    assert "00:00:01:00 00:00:03:00" in edl


def test_an_unchanged_rebuild_touches_nothing_and_a_new_out_point_reassembles(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    spec = write_spec(tmp_path)
    files = copy_in(members, tmp_path)
    assemble_all(spec, spec.build_dir, files, "preview")
    out = tmp_path / "build" / "preview" / "film.mp4"
    before = os.stat(out)
    (again,) = plan_sequences(spec, spec.build_dir, files, "preview")
    assert again.status is SequenceStatus.UP_TO_DATE
    (result,) = assemble_all(spec, spec.build_dir, files, "preview")
    after = os.stat(out)
    assert result.status == UP_TO_DATE
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)

    longer = write_spec(tmp_path, out=4)
    (plan,) = plan_sequences(longer, longer.build_dir, files, "preview")
    assert (plan.status, plan.reason) == (SequenceStatus.ASSEMBLE, "trims of b changed")
    (result,) = assemble_all(longer, longer.build_dir, files, "preview")
    assert result.status == ASSEMBLED
    assert abs(probe(out)[0] - 8.0) < FRAME


def test_a_changed_member_reassembles_and_names_it(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    spec = write_spec(tmp_path)
    files = copy_in(members, tmp_path)
    assemble_all(spec, spec.build_dir, files, "preview")
    render(files["a"].parent, "a", 5, prompt="a new take of a")
    (plan,) = plan_sequences(spec, spec.build_dir, files, "preview")
    assert (plan.status, plan.reason) == (SequenceStatus.ASSEMBLE, "a changed")


def test_a_cut_changed_on_disk_is_assembled_again(tmp_path: Path, members: dict[str, Path]) -> None:
    spec = write_spec(tmp_path)
    files = copy_in(members, tmp_path)
    assemble_all(spec, spec.build_dir, files, "preview")
    (tmp_path / "build" / "preview" / "film.mp4").write_bytes(b"edited by hand")
    (plan,) = plan_sequences(spec, spec.build_dir, files, "preview")
    assert plan.reason == "film.mp4 is missing or was changed on disk"


def test_untrimmed_members_with_one_codec_are_stream_copied(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    text = SPEC.replace("[a, {shot: b, in: 1, out: OUT}]", "[a, {shot: b, in: 4}, a]")
    spec = write_spec(tmp_path, text)
    (result,) = assemble_all(spec, tmp_path / "build", members)
    assert (result.status, result.method) == (ASSEMBLED, "remux")  # in: 4 is a keyframe
    seconds, *_ = probe(result.path)
    assert abs(seconds - 12.0) < FRAME
    with av.open(str(result.path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 48


def test_a_declared_size_letterboxes_other_aspect_ratios(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    text = SPEC.replace("[a, {shot: b, in: 1, out: OUT}]", "[a, tall]\n    size: 640x360")
    spec = write_spec(tmp_path, text)
    (result,) = assemble_all(spec, tmp_path / "build", members)
    assert result.method == "re-encode"
    seconds, width, height, _ = probe(result.path)
    assert (width, height) == (640, 360) and abs(seconds - 9.0) < FRAME


def test_audio_is_kept_and_silence_fills_members_without_it(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    spoken = with_tone(tmp_path / "spoken.mp4", seconds=2)
    text = SPEC.replace("[a, {shot: b, in: 1, out: OUT}]", "[{shot: b, out: 2}, tall]")
    text = text.replace("size: 640x360", "")
    spec = write_spec(tmp_path, text.replace('aspect_ratio: "9:16"', 'aspect_ratio: "16:9"'))
    files = {"b": spoken, "tall": members["a"]}
    (result,) = assemble_all(spec, tmp_path / "build", files)
    assert result.status == ASSEMBLED and result.method == "re-encode"
    with av.open(str(result.path)) as container:
        audio = container.streams.audio[0]
        assert audio.duration is not None and audio.time_base is not None
        audio_seconds = float(audio.duration * audio.time_base)
    assert abs(audio_seconds - 7.0) < 0.1
    assert abs(probe(result.path)[0] - 7.0) < FRAME


def with_tone(path: Path, seconds: int) -> Path:
    """A small 16:9 clip at 4 fps with a stereo AAC track (the sine filter)."""
    rate = 48000
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=4)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        audio = container.add_stream("aac", rate=rate, layout="stereo")
        for i in range(seconds * 4):
            frame = av.VideoFrame(320, 180, "yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 4)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        graph = av.filter.Graph()
        chain = [
            graph.add("sine", f"frequency=440:sample_rate={rate}:duration={seconds}"),
            graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo"),
            graph.add("abuffersink"),
        ]
        chain[0].link_to(chain[1])
        chain[1].link_to(chain[2])
        graph.configure()
        samples = 0
        while True:
            try:
                tone = graph.pull()
            except av.EOFError:
                break
            tone.pts, tone.time_base = samples, Fraction(1, rate)
            samples += tone.samples
            container.mux(audio.encode(tone))
        container.mux(audio.encode(None))
    return path


def test_a_cut_waits_for_missing_members_with_one_line(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    spec = write_spec(tmp_path)
    lines = Lines()
    (result,) = assemble_all(spec, tmp_path / "build", {"a": members["a"]}, "", lines)
    assert (result.status, result.detail) == (SKIPPED, "waiting for b")
    assert lines.lines == ["film: not assembled, waiting for b"]
    assert not result.path.exists()


def test_a_member_shorter_than_its_trim_fails_that_cut_only(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    text = SPEC + "  other: {shots: [a]}\n"
    text = text.replace(
        "b: {prompt: The founder sits down., duration: 6}", "b: {prompt: x, auto_duration: true}"
    )
    spec = write_spec(tmp_path, text.replace("in: 1, out: OUT", "in: 7"))
    results = assemble_all(spec, tmp_path / "build", members, "", Lines())
    assert [r.status for r in results] == [FAILED, ASSEMBLED]
    assert "b is 6 s long, so in 7 leaves nothing of it" in results[0].detail


def test_without_the_edit_extra_the_mp4_is_still_assembled(
    tmp_path: Path, members: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_otio(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("opentimelineio"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_otio)
    text = SPEC + "  other: {shots: [b]}\n"
    spec = write_spec(tmp_path, text)
    lines = Lines()
    results = assemble_all(spec, tmp_path / "build", members, "", lines)
    assert [r.status for r in results] == [ASSEMBLED, ASSEMBLED]
    assert all(r.exports == () for r in results)
    skipped = [line for line in lines.lines if "exports skipped" in line]
    assert skipped == [
        "sequences: .otio/.xml exports skipped: exporting .otio and .xml needs the 'edit' "
        "extra: pip install 'shotbuild[edit]'"
    ]
    assert not (tmp_path / "build" / "film.otio").exists()


def test_a_broken_record_is_ignored_and_files_it_no_longer_vouches_for_are_kept(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    spec = write_spec(tmp_path)
    assemble_all(spec, tmp_path / "build", members)
    (tmp_path / "build" / RECORD_NAME).write_text('{"format": 1, "sequences": {"film": 3}}')
    (result,) = assemble_all(spec, tmp_path / "build", members)
    assert result.status == FAILED and "was not written by shotbuild" in result.detail
    for name in ("film.mp4", "film.otio", "film.xml", "film.edl"):
        (tmp_path / "build" / name).unlink()
    (result,) = assemble_all(spec, tmp_path / "build", members)
    assert (result.status, result.detail.split(";")[0]) == (ASSEMBLED, "not assembled yet")


def test_a_cut_killed_while_written_is_still_shotbuilds_to_replace(
    tmp_path: Path, members: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_spec(tmp_path)
    from shotbuild.sequences import media

    def killed(*args: Any) -> str:
        (tmp_path / "build" / "film.mp4").write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(media, "assemble", killed)
    with pytest.raises(KeyboardInterrupt):
        assemble_all(spec, tmp_path / "build", members)
    monkeypatch.undo()
    (result,) = assemble_all(spec, tmp_path / "build", members)
    assert result.status == ASSEMBLED, result.detail
    assert abs(probe(result.path)[0] - 7.0) < FRAME


def test_a_preview_build_assembles_the_cut_end_to_end(chdir_tmp: Path) -> None:
    """The issue's case through `shotbuild build --backend preview`: a (5 s) and b
    (6 s) from 1 to 3 make 7.0 s; the exports read back; an unchanged rebuild leaves
    the cut alone; out: 4 makes it 8.0 s."""
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC.replace("OUT", "3"))
    assert cli.main(["build", "--backend", "preview", "-q", str(path)]) == 0
    out = chdir_tmp / "build" / "preview" / "film.mp4"
    assert abs(probe(out)[0] - 7.0) < FRAME
    clips = list(otio.adapters.read_from_file(str(out.with_suffix(".otio"))).find_clips())
    ranges = [
        (c.name, c.source_range.start_time.to_seconds(), c.source_range.duration.to_seconds())
        for c in clips
    ]
    assert ranges == [("a", 0.0, 5.0), ("b", 1.0, 2.0)]
    xml = ET.parse(out.with_suffix(".xml")).getroot()
    assert [i.findtext("name") for i in xml.findall(".//clipitem")] == ["a", "b"]
    before = os.stat(out)
    assert cli.main(["build", "--backend", "preview", "-q", str(path)]) == 0
    after = os.stat(out)
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    path.write_text(SPEC.replace("OUT", "4"))
    assert cli.main(["build", "--backend", "preview", "-q", str(path)]) == 0
    assert abs(probe(out)[0] - 8.0) < FRAME


def test_a_file_shotbuild_did_not_write_is_never_replaced(
    tmp_path: Path, members: dict[str, Path]
) -> None:
    spec = write_spec(tmp_path)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "film.xml").write_text("an editor's own timeline")
    lines = Lines()
    (result,) = assemble_all(spec, tmp_path / "build", members, "", lines)
    assert result.status == FAILED
    assert result.detail.endswith(
        "film.xml exists and was not written by shotbuild; move it away and build again"
    )
    assert (tmp_path / "build" / "film.xml").read_text() == "an editor's own timeline"
    assert not (tmp_path / "build" / "film.mp4").exists()


def test_clean_removes_the_cuts_and_their_record_only(chdir_tmp: Path) -> None:
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC.replace("duration: 5", "duration: 4").replace("OUT", "3"))
    assert cli.main(["build", "--backend", "preview", "-q", str(path)]) == 0
    preview = chdir_tmp / "build" / "preview"
    (preview / "notes.txt").write_text("mine")
    assert {p.name for p in preview.iterdir()} >= {"film.mp4", "film.otio", "film.xml", RECORD_NAME}
    assert cli.main(["clean", "--dry-run", str(path)]) == 0
    assert (preview / "film.mp4").exists()
    assert cli.main(["clean", str(path)]) == 0
    assert sorted(p.name for p in preview.iterdir()) == ["notes.txt"]


def test_plan_shows_each_sequence_waiting_then_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from shotbuild import cli

    spec = tmp_path / "shots.yaml"
    spec.write_text(
        "defaults: {avatar_id: [l], duration: 4, resolution: 720p}\n"
        "shots:\n  a: {prompt: one}\n  b: {prompt: two}\n"
        "sequences:\n  film:\n    shots: [a, b]\n",
        encoding="utf-8",
    )
    assert cli.main(["plan", "--backend", "preview", str(spec)]) == 0
    assert "film  sequence: waiting for 2 shots: a, b (2 renders, free)" in capsys.readouterr().out
    assert cli.main(["build", "--backend", "preview", str(spec)]) == 0
    capsys.readouterr()
    assert cli.main(["plan", "--backend", "preview", "--json", str(spec)]) == 0
    (cut,) = json.loads(capsys.readouterr().out)["sequences"]
    assert (cut["name"], cut["status"], cut["waits_for"]) == ("film", "up to date", [])
