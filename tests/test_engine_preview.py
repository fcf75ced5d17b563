"""The preview backend end to end: real mp4s, rendered once."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import av
import pytest
from conftest import SPEC_HEAD
from PIL import Image

from shotbuild import cli
from shotbuild.store.lock import read_lock

SPEC = (
    SPEC_HEAD
    + """\
  office-walk:
    prompt: A founder walks through a sunlit office.
    references:
      - {type: file, path: refs/light.png}
  demo:
    prompt: The founder demos the product.
    aspect_ratio: "9:16"
    references:
      - {type: base64, media_type: image/png, data: "%s"}
"""
)


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def spec_file(chdir_tmp: Path) -> Path:
    (chdir_tmp / "refs").mkdir()
    (chdir_tmp / "refs" / "light.png").write_bytes(png())
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC % base64.b64encode(png()).decode())
    return path


def probe(path: Path) -> tuple[str, int, int, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        seconds = float(container.duration or 0) / av.time_base
        return stream.codec_context.name, stream.width, stream.height, seconds


def test_preview_build_makes_real_mp4s_and_a_rerun_renders_nothing(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["build", "--backend", "preview", str(spec_file)]) == 0
    err = capsys.readouterr().err
    assert "2 built" in err and "seconds of preview rendered" in err
    out = spec_file.parent / "build" / "preview"
    codec, width, height, seconds = probe(out / "office-walk.mp4")
    assert (codec, width, height) == ("h264", 1280, 720) and 3.5 <= seconds <= 4.5
    assert probe(out / "demo.mp4")[1:3] == (720, 1280)
    assert read_lock(spec_file.with_suffix(".lock")) == {}  # previews never enter the lock
    assert not spec_file.with_suffix(".lock").exists()
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    assert cli.main(["build", "--backend", "preview"]) == 0
    assert "0 built, 0 restored, 2 up to date" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    # a preview never satisfies a heygen plan
    assert cli.main(["plan", "--detailed-exitcode"]) == 2


def test_preview_output_deleted_is_restored_and_env_selects_the_backend(
    spec_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOTBUILD_BACKEND", "preview")
    assert cli.main(["build", "--only", "demo"]) == 0
    demo = spec_file.parent / "build" / "preview" / "demo.mp4"
    demo.unlink()
    capsys.readouterr()
    assert cli.main(["build", "--only", "demo"]) == 0
    assert "0 built, 1 restored" in capsys.readouterr().err and demo.exists()


def test_two_concurrent_builds_of_one_spec_render_each_shot_once(spec_file: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "shotbuild", "build", "--backend", "preview", str(spec_file)]
    env = {**os.environ}
    procs = [subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    built = [int(m.group(1)) for out in outs for m in re.finditer(r"(\d+) built", out)]
    assert sorted(built) == [0, 2], outs


def test_python_api_mirrors_the_cli(spec_file: Path) -> None:
    import shotbuild.api as sb

    spec = sb.load(spec_file)
    plan = sb.plan(spec, backend="preview")
    assert plan.to_json()["counts"] == {"new": 2} and plan.seconds == 8
    result = sb.build(spec_file, backend="preview", jobs=2, only=["demo"])
    assert result.built == ["demo"] and result.exit_code == 0
    assert sb.plan(spec, backend="preview").counts() == {"new": 1, "up to date": 1}


def test_a_shot_removed_from_the_spec_loses_its_preview(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["build", "--backend", "preview", "--only", "demo"]) == 0
    spec_file.write_text(spec_file.read_text().split("  demo:")[0])
    assert cli.main(["plan", "--backend", "preview", "--json"]) == 0
    doc = capsys.readouterr().out
    assert '"status": "removed"' in doc
    assert cli.main(["build", "--backend", "preview"]) == 0
    out = spec_file.parent / "build" / "preview"
    assert sorted(p.name for p in out.iterdir()) == ["office-walk.mp4"]


def test_two_specs_sharing_a_build_folder_leave_each_other_alone(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = spec_file.with_name("teaser.yaml")
    other.write_text(
        "version: 1\nshots:\n  teaser: {prompt: A teaser., avatar_id: [look_a], duration: 4}\n"
    )
    assert cli.main(["build", "--backend", "preview", "--only", "demo", str(spec_file)]) == 0
    assert cli.main(["build", "--backend", "preview", str(other)]) == 0
    out = spec_file.parent / "build" / "preview"
    assert sorted(p.name for p in out.iterdir()) == ["demo.mp4", "teaser.mp4"]
    assert cli.main(["plan", "--backend", "preview", "--json", str(spec_file)]) == 0
    assert '"removed"' not in capsys.readouterr().out
    assert cli.main(["build", "--backend", "preview", "--only", "demo", str(spec_file)]) == 0
    assert cli.main(["clean", str(spec_file)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["teaser.mp4"]
    capsys.readouterr()
    assert cli.main(["build", "--backend", "preview", str(other)]) == 0
    assert "1 up to date" in capsys.readouterr().err
