"""`shotbuild validate`: many files, folders, the three formats, exit codes, and
no network library imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shotbuild import cli
from shotbuild.spec.files import is_spec_name

REPO = Path(__file__).resolve().parent.parent
GOOD = "version: 1\nshots:\n  a: {prompt: p, avatar_id: [l]}\n"
BAD = "shots:\n  a: {promt: p, avatar_id: [l]}\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_files_exit_0(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "shots.yaml").write_text(GOOD)
    assert run(capsys) == (0, "", "1 file valid\n")


def test_every_problem_in_every_file(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "a.yaml").write_text(BAD)
    (chdir_tmp / "b.yaml").write_text(GOOD)
    (chdir_tmp / "c.yaml").write_text("shots: [\n")
    code, out, err = run(capsys, "a.yaml", "b.yaml", "c.yaml", "missing.yaml")
    assert code == 1
    assert out.splitlines() == [
        "a.yaml:2:3: a: missing prompt (set it in this shot or under defaults)",
        "a.yaml:2:7: promt: unknown key; did you mean prompt?",
        "c.yaml:2:1: not valid YAML: did not find expected node content "
        "(while parsing a flow node)",
        "missing.yaml:1:1: no such file",
    ]
    assert err == "4 problems in 3 of 4 files\n"


def test_json_format(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "a.yaml").write_text(BAD)
    (chdir_tmp / "b.yaml").write_text(GOOD)
    code, out, err = run(capsys, "--format", "json", "a.yaml", "b.yaml")
    assert code == 1 and err == ""
    assert json.loads(out) == {
        "format_version": 1,
        "valid": False,
        "files": [
            {
                "path": "a.yaml",
                "valid": False,
                "problems": [
                    {
                        "line": 2,
                        "col": 3,
                        "message": "a: missing prompt (set it in this shot or under defaults)",
                    },
                    {"line": 2, "col": 7, "message": "promt: unknown key; did you mean prompt?"},
                ],
            },
            {"path": "b.yaml", "valid": True, "problems": []},
        ],
    }


def test_github_format(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "a,b.yaml").write_text("shots:\n  a: {prompt: p, avatar_id: [l], duration: 50}\n")
    code, out, _ = run(capsys, "--format", "github", "a,b.yaml")
    assert code == 1
    assert out == (
        "::error file=a%2Cb.yaml,line=2,col=44,title=shotbuild validate::"
        "duration: must be from 4 to 15 (found 50)\n"
    )


def test_a_folder_validates_the_specs_under_it(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ["shots.yaml", "x/promo.shots.yml", "x/y/shots.yml", ".hidden/shots.yaml"]:
        (chdir_tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (chdir_tmp / name).write_text(BAD if "promo" in name else GOOD)
    (chdir_tmp / "x" / "other.yaml").write_text(BAD)  # not a spec name: not searched
    code, out, err = run(capsys, ".", "x/promo.shots.yml")  # named twice: checked once
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == ["x/promo.shots.yml"] * 2
    assert err == "2 problems in 1 of 3 files\n"


def test_a_folder_without_specs_is_a_problem(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (chdir_tmp / "empty").mkdir()
    code, out, _ = run(capsys, "empty")
    assert code == 1
    assert out.startswith("empty:1:1: no spec files (shots.yaml, shots.yml, *.shots.yaml")


def test_default_is_shots_yaml_here(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys)[:2] == (1, "shots.yaml:1:1: no such file\n")


def test_a_name_too_long(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "a" * 5000)
    assert code == 1 and out.endswith(": cannot be read (File name too long)\n")


def test_bad_format_is_a_usage_error(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--format", "xml")[0] == 2


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("shots.yaml", True),
        ("shots.yml", True),
        ("launch.shots.yaml", True),
        ("a.b.shots.yml", True),
        ("myshots.yaml", False),
        ("shots.yaml.bak", False),
        ("shots.lock", False),
        ("other.yaml", False),
    ],
)
def test_spec_names(name: str, spec: bool) -> None:
    assert is_spec_name(name) is spec


def imported_by_validate(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    """Run `shotbuild validate` on a spec in a fresh interpreter: its exit code and
    which heavy modules it imported."""
    spec = tmp_path / "shots.yaml"
    spec.write_text(text)
    code = (
        "import sys\n"
        "from shotbuild import cli\n"
        f"rc = cli.main(['validate', {str(spec)!r}])\n"
        "mods = ('httpx', 'httpcore', 'jsonschema', 'av', 'PIL')\n"
        "print(rc, *[m for m in mods if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    rc, *modules = done.stdout.splitlines()[-1].split()
    return int(rc), modules


def test_validate_imports_no_network_library(tmp_path: Path) -> None:
    # a valid spec is confirmed without even importing jsonschema
    assert imported_by_validate(tmp_path, GOOD) == (0, [])


def test_invalid_spec_imports_jsonschema_but_not_httpx(tmp_path: Path) -> None:
    assert imported_by_validate(tmp_path, BAD) == (1, ["jsonschema"])


def test_examples_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    specs = sorted((REPO / "examples").rglob("shots.yaml"))
    assert len(specs) >= 2
    code, out, err = run(capsys, str(REPO / "examples"))
    assert (code, out) == (0, "")
    assert err == f"{len(specs)} files valid\n"


def test_examples_name_the_schema_for_editors() -> None:
    for spec in (REPO / "examples").rglob("shots.yaml"):
        first = spec.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/shots.schema.json"
        assert (spec.parent / "../../schemas/shots.schema.json").resolve().is_file()
