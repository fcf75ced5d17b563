"""validate's pieces without the command: check_paths (discovery, results as values)
and the three reporters behind one interface (tests/test_validate_cmd.py runs the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SpecWriter

from shotbuild.report import REPORTERS, Output
from shotbuild.spec.files import Checked, check_paths
from shotbuild.spec.problems import Problem

GOOD = "version: 1\nshots:\n  a: {prompt: Hello., avatar_id: [look_founder]}\n"
BAD = "version: 1\nshots:\n  a: {avatar_id: [look_founder]}\n"


def test_check_paths_finds_specs_in_folders_and_keeps_every_problem(
    write_spec: SpecWriter, tmp_path: Path
) -> None:
    good = write_spec(GOOD, folder=tmp_path / "site")
    bad = write_spec(BAD, folder=tmp_path / "site", name="promo.shots.yaml")
    write_spec(BAD, folder=tmp_path / "site" / "build")  # build folders are skipped
    (tmp_path / "empty").mkdir()
    results = check_paths([tmp_path / "site", good, tmp_path / "empty"])
    assert [r.path for r in results] == [str(bad), str(good), str(tmp_path / "empty")]
    assert results[1].problems == [] and results[0].problems
    assert "no spec files" in results[2].problems[0].message


RESULTS = [
    Checked("ok.yaml", []),
    Checked("a, b.yaml", [Problem("a, b.yaml", 3, 5, "shot a: 'prompt' is required\n!")]),
]


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_every_reporter_returns_lines_and_prints_nothing(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    output = REPORTERS[name](RESULTS)
    assert isinstance(output, Output) and output.stdout
    assert all(isinstance(line, str) for line in (*output.stdout, *output.stderr))
    assert capsys.readouterr() == ("", "")


def test_the_three_formats() -> None:
    text = REPORTERS["text"](RESULTS)
    assert text.stdout == ("a, b.yaml:3:5: shot a: 'prompt' is required\n!",)
    assert text.stderr == ("1 problem in 1 of 2 files",)
    assert REPORTERS["text"](RESULTS[:1]) == Output((), ("1 file valid",))
    doc = json.loads("\n".join(REPORTERS["json"](RESULTS).stdout))
    assert doc["valid"] is False and [f["valid"] for f in doc["files"]] == [True, False]
    assert doc["files"][1]["problems"] == [
        {"line": 3, "col": 5, "message": "shot a: 'prompt' is required\n!"}
    ]
    assert REPORTERS["github"](RESULTS).stdout == (
        "::error file=a%2C b.yaml,line=3,col=5,title=shotbuild validate::"
        "shot a: 'prompt' is required%0A!",
    )
