"""A cut assembled from renders downloaded from the emulator (real sockets on
127.0.0.1): never in shots.lock, and an unchanged rebuild creates no job and
leaves the cut alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread, world_of
from shotbuild.store.lock import read_lock

KEY = "sk-sequences-emulated-51a2"
SPEC = """\
defaults:
  avatar_id: [look_founder]
  duration: 4
shots:
  intro: {prompt: The founder says hello.}
  walk: {prompt: The founder walks through the office., duration: 5}
sequences:
  film:
    shots: [intro, {shot: walk, in: 1, out: 3}]
"""


@pytest.fixture
def emu() -> Iterator[tuple[Any, str]]:
    app = create_app(EmulatorConfig(api_key=KEY, latency=0.0, seed=3))  # preview renders
    with serve_in_thread(app) as served:
        yield app, served


def build(spec: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEYGEN_API_KEY": KEY, "HEYGEN_BASE_URL": url}
    cmd = [sys.executable, "-m", "shotbuild", "build", str(spec)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=100)


def test_the_cut_is_assembled_from_downloaded_renders(tmp_path: Path, emu: tuple[Any, str]) -> None:
    app, url = emu
    spec = tmp_path / "shots.yaml"
    spec.write_text(SPEC)
    first = build(spec, url)
    assert first.returncode == 0, first.stderr
    assert "film: assembled film.mp4" in first.stderr
    cut = tmp_path / "build" / "film.mp4"
    with av.open(str(cut)) as container:
        video = container.streams.video[0]
        assert video.duration is not None and video.time_base is not None
        assert abs(float(video.duration * video.time_base) - 6.0) < 0.25
    assert sorted(read_lock(spec.with_suffix(".lock"))) == ["intro", "walk"]
    before = os.stat(cut)
    jobs = len(world_of(app).jobs)
    again = build(spec, url)
    assert again.returncode == 0, again.stderr
    assert "assembled" not in again.stderr
    assert (os.stat(cut).st_mtime_ns, os.stat(cut).st_ino) == (before.st_mtime_ns, before.st_ino)
    assert len(world_of(app).jobs) == jobs == 2
