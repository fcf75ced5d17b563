"""`shotbuild explain SHOT` and `plan --diff`: each changed field, old -> new."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_fakes import FakeHeyGen
from test_engine_cli import SPEC, heygen_build

from shotbuild import cli


@pytest.fixture
def built(chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC)
    heygen_build(path, FakeHeyGen())
    return path


LONG = "A founder walks through a sunlit office, " * 4 + "\x1b]0;pwned\x07 end."


def test_explain_shows_old_and_new_values_cut_and_escaped(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built.write_text(
        SPEC.replace("A founder walks through a sunlit office.", json.dumps(LONG)).replace(
            "duration: 6", "duration: 7"
        )
    )
    assert cli.main(["explain", "office-walk"]) == 0
    out = capsys.readouterr().out
    head, *lines = out.splitlines()
    assert head == "office-walk  changed: duration, prompt changed"
    assert lines[0] == "  duration: 6 -> 7"
    assert lines[1].startswith('  prompt: "A founder walks through a sunlit office." -> "A founder')
    assert lines[1].endswith("\u2026") and "\x1b" not in out and "\x07" not in out
    assert cli.main(["explain", "--json", "office-walk"]) == 0
    doc = json.loads(capsys.readouterr().out)
    changes = {c["field"]: (c["old"], c["new"]) for c in doc["shot"]["changes"]}
    assert changes["duration"] == (6, 7)
    assert changes["prompt"] == ("A founder walks through a sunlit office.", LONG)  # whole
    assert doc["shot"]["status"] == "changed"


def test_explain_an_up_to_date_shot_and_an_unknown_one(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["explain", "demo", str(built)]) == 0
    assert capsys.readouterr().out == "demo  up to date: output matches its key\n"
    assert cli.main(["explain", "nope"]) == 1
    err = capsys.readouterr().err
    assert "no shot named 'nope' (shots: office-walk, demo)" in err
    assert err.count("\n") == 1


def test_plan_diff_prints_old_to_new_under_each_changed_shot(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built.write_text(
        SPEC.replace("title: Demo", "title: Demo 2").replace("duration: 6", "duration: 7")
    )
    assert cli.main(["plan", "--diff"]) == 0
    out = capsys.readouterr().out
    assert "office-walk  changed:\n  duration: 6 -> 7\n" in out
    assert 'demo  cosmetic change:\n  title: "Demo" -> "Demo 2"\n' in out
    assert cli.main(["plan"]) == 0
    assert "->" not in capsys.readouterr().out
