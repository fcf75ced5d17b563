"""The engine's commands through the CLI, on real YAML specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_fakes import FakeHeyGen, heygen_backend, no_sleep

from shotbuild import cli
from shotbuild.build import BuildOptions, build
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache

SPEC = """\
version: 1
defaults:
  avatar_id: [look_founder]
shots:
  office-walk:
    prompt: A founder walks through a sunlit office.
    duration: 6
  demo:
    prompt: The founder demos the product.
    title: Demo
"""


@pytest.fixture
def spec_file(chdir_tmp: Path) -> Path:
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC)
    return path


def heygen_build(spec_file: Path, fake: FakeHeyGen) -> None:
    with Cache() as cache:
        result = build(
            load_spec(spec_file),
            heygen_backend(fake, cache),
            BuildOptions(),
            cache=cache,
            sleep=no_sleep,
        )
    assert result.exit_code == 0


def test_plan_json_and_detailed_exitcode(
    spec_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["plan", "--json", "--detailed-exitcode"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["format_version"] == 1 and doc["seconds"] == 16
    assert [(s["name"], s["status"]) for s in doc["shots"]] == [
        ("office-walk", "new"),
        ("demo", "new"),
    ]
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    heygen_build(spec_file, FakeHeyGen())
    assert cli.main(["plan", "--detailed-exitcode"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "up to date" in captured.out  # a report: stdout
    spec_file.write_text(
        SPEC.replace("title: Demo", "title: Demo 2").replace("duration: 6", "duration: 7")
    )
    assert cli.main(["plan", "--detailed-exitcode", str(spec_file)]) == 2
    err = capsys.readouterr().out
    assert (
        "duration changed" in err and "cosmetic change" in err and "7 s of video to pay for" in err
    )


def test_plan_reformatted_and_reordered_yaml_changes_nothing(
    spec_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    heygen_build(spec_file, FakeHeyGen())
    spec_file.write_text(
        "version: 1\nshots:\n"
        "  demo: {avatar_id: [look_founder], title: Demo,\n"
        "         prompt: 'The founder demos the product.  '}\n"
        "  office-walk:\n    duration: 6\n    resolution: 720p\n"
        "    prompt: >\n      A founder walks through\n      a sunlit office.\n"
        "    avatar_id:\n      - look_founder\n"
    )
    assert cli.main(["plan", "--detailed-exitcode"]) == 0, capsys.readouterr().err


def test_missing_spec_is_one_line(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan"]) == 1
    assert capsys.readouterr().err.startswith("shotbuild: error: no shots.yaml in this folder")


def test_build_without_key_names_the_variable(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["build", "-q"]) == 1
    assert "HEYGEN_API_KEY" in capsys.readouterr().err


def test_build_dry_run_and_max_seconds(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["build", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "office-walk: would submit (6 s of video)" in err
    assert cli.main(["build", "--max-seconds", "10"]) == 1
    assert "over --max-seconds 10" in capsys.readouterr().err


def test_clean_removes_only_owned_outputs_and_gc_keeps_locked_renders(
    spec_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    fake = FakeHeyGen()
    heygen_build(spec_file, fake)
    build_dir = spec_file.parent / "build"
    (build_dir / "mine.txt").write_text("keep")
    assert cli.main(["gc", "--dry-run"]) == 0
    assert "would drop 0 results and 0 renders (0.0 MB); kept 2 renders" in capsys.readouterr().err
    assert cli.main(["clean"]) == 0
    assert sorted(p.name for p in build_dir.iterdir()) == ["mine.txt"]
    # drop a shot: its render is no longer referenced by the lock
    spec_file.write_text(SPEC.split("  demo:")[0])
    heygen_build(spec_file, fake)
    assert fake.creates == 2  # office-walk was restored from the cache, not rendered
    assert cli.main(["gc"]) == 0
    err = capsys.readouterr().err
    assert "dropped 0 results and 1 renders" in err  # the bytes; demo's record stays
    assert "the records of 2 paid renders (1 without bytes here" in err
    assert cli.main(["gc"]) == 0
    assert "dropped 0 results and 0 renders" in capsys.readouterr().err


def test_status_without_jobs_in_flight_is_the_plan(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {s["status"] for s in doc["shots"]} == {"new"}


def test_a_conflicted_lock_is_one_line_naming_the_file(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file.with_suffix(".lock").write_text("<<<<<<< ours\n{}\n=======\n{}\n>>>>>>> theirs\n")
    assert cli.main(["plan"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shots.lock:1:1: git conflict markers" in err


def test_a_noop_build_imports_nothing_network_related(
    spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    heygen_build(spec_file, FakeHeyGen())
    code = (
        "import sys; from shotbuild.cli import main; rc = main(['build', '-q']);"
        "heavy = ('httpx', 'asyncio', 'diskcache', 'shotbuild.heygen.client');"
        "heavy = [m for m in heavy if m in sys.modules];"
        "print(rc, heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0 []", done.stderr


def test_import_shotbuild_is_light_and_exposes_the_api() -> None:
    import subprocess
    import sys

    code = (
        "import sys, shotbuild; light = 'shotbuild.build' not in sys.modules;"
        "print(light, callable(shotbuild.build), callable(shotbuild.load))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True True True"


def test_lock_check_is_the_ci_gate(
    spec_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    assert cli.main(["lock", "--check"]) == 1
    assert "office-walk: not in the lock" in capsys.readouterr().out
    heygen_build(spec_file, FakeHeyGen())
    assert cli.main(["lock", "--check"]) == 0
    assert "matches the spec (2 shots)" in capsys.readouterr().out
    spec_file.write_text(SPEC.replace("sunlit", "rainy").split("  demo:")[0])
    assert cli.main(["lock", "--check", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["problems"] == [
        {"problem": "changed since it was built", "shot": "office-walk"},
        {"problem": "in the lock but not in the spec", "shot": "demo"},
    ]
    assert cli.main(["lock"]) == 2


def test_build_json_is_one_document_on_stdout(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["build", "--json", "--dry-run"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format_version"] == 1 and doc["built"] == []
    assert [d["name"] for d in doc["dry_run"]] == ["office-walk", "demo"]
    assert cli.main(["build", "--json", "--backend", "preview", "--only", "demo"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["built"] == ["demo"] and doc["paid"] is False and doc["failed"] == []
