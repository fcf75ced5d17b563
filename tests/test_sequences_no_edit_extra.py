"""Without the `edit` extra installed (no OpenTimelineIO at all, not an import made
to fail), a preview build still assembles the cut's mp4 and skips its .otio/.xml
exports with one line naming the extra. The real CLI in a child process of a
virtual environment whose site-packages are the test environment's without
opentimelineio and its adapters."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = ("opentimelineio", "otio_", "_editable_impl_")  # the edit extra; main's checkout
SPEC = """\
version: 1
defaults: {avatar_id: [look_a], duration: 4}
shots:
  a: {prompt: The founder walks in.}
  b: {prompt: The founder sits down.}
sequences:
  film: {shots: [a, {shot: b, in: 1, out: 3}]}
"""


def without_edit_extra(folder: Path) -> Path:
    """A venv (no pip, no system site-packages) that sees every package this test
    environment has except the edit extra's: symlinks in a folder its .pth names.
    Returns its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder / "env")
    python = folder / "env" / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    farm = folder / "packages"
    farm.mkdir()
    here = Path(sysconfig.get_paths()["purelib"])
    for entry in here.iterdir():
        lowered = entry.name.lower()
        if lowered.startswith(LEFT_OUT) or entry.suffix == ".pth" or lowered == "__pycache__":
            continue
        (farm / entry.name).symlink_to(entry)
    Path(purelib, "test-packages.pth").write_text(f"{farm}\n")
    return python


@pytest.mark.skipif(sys.platform == "win32", reason="symlinked site-packages")
def test_a_preview_build_without_the_edit_extra_assembles_the_mp4_only(tmp_path: Path) -> None:
    python = without_edit_extra(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOTBUILD_CACHE_DIR": str(tmp_path / "c")}
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('opentimelineio'))"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "None", probe.stderr  # really not installed there
    project = tmp_path / "project"
    project.mkdir()
    (project / "shots.yaml").write_text(SPEC)
    cmd = [str(python), "-m", "shotbuild", "build", "--backend", "preview", "shots.yaml"]
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    skipped = [line for line in done.stderr.splitlines() if "exports skipped" in line]
    assert skipped == [
        "sequences: .otio/.xml exports skipped: exporting .otio and .xml needs the 'edit' "
        "extra: pip install 'shotbuild[edit]'"
    ], done.stderr
    cut = project / "build" / "preview" / "film.mp4"
    assert cut.is_file() and cut.stat().st_size > 0, done.stderr
    assert not list((project / "build").rglob("*.otio")) and not list(
        (project / "build").rglob("film.xml")
    )
    assert "Traceback" not in done.stderr
