"""A preview build of a cut with the 'edit' extra really uninstalled: the .mp4 is
assembled, the .otio/.xml exports are skipped with one line naming the extra, and
the build still succeeds.

The ordinary suite has the extra installed, so this file is skipped there. `.ci/run
min` uninstalls OpenTimelineIO and its adapters after the suite and runs this file
alone with SHOTBUILD_EXPECT_NO_EDIT=1, which turns the skip into a failure: the test
cannot pass there by being skipped."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from shotbuild import cli

INSTALLED = importlib.util.find_spec("opentimelineio") is not None

SPEC = """\
defaults:
  avatar_id: [look_a]
shots:
  a: {prompt: The founder walks in., duration: 4}
  b: {prompt: The founder sits down., duration: 4}
sequences:
  film:
    shots: [a, {shot: b, in: 1}]
"""


def test_the_edit_extra_is_absent_when_ci_says_so() -> None:
    if os.environ.get("SHOTBUILD_EXPECT_NO_EDIT") != "1":
        pytest.skip("only .ci/run min asks for an environment without the edit extra")
    assert not INSTALLED, "SHOTBUILD_EXPECT_NO_EDIT=1 but opentimelineio is importable"


@pytest.mark.skipif(INSTALLED, reason="the edit extra is installed; .ci/run min runs this")
def test_a_cut_is_assembled_and_its_exports_skipped_in_one_line(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC)
    assert cli.main(["build", "--backend", "preview", str(path)]) == 0
    out = chdir_tmp / "build" / "preview"
    assert (out / "film.mp4").stat().st_size > 0
    assert not (out / "film.otio").exists() and not (out / "film.xml").exists()
    printed = capsys.readouterr()
    lines = (printed.out + printed.err).splitlines()
    skipped = [line for line in lines if "exports skipped" in line]
    assert skipped == [
        "sequences: .otio/.xml exports skipped: exporting .otio and .xml needs the 'edit' "
        "extra: pip install 'shotbuild[edit]'"
    ]
    assert not any("Traceback" in line for line in lines)
