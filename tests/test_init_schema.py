"""`shotbuild init` writes a starter spec that validates and previews; `shotbuild
schema` prints the packaged schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from shotbuild.cli import cli, main
from shotbuild.spec import load_spec
from shotbuild.spec.schema import schema


def test_schema_prints_the_packaged_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == schema()


def test_schema_out_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["schema", "--out", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema()


def test_init_writes_a_valid_spec_and_the_schema_it_points_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    spec_text = (tmp_path / "shots.yaml").read_text(encoding="utf-8")
    first = spec_text.splitlines()[0]
    assert first == "# yaml-language-server: $schema=shots.schema.json"
    assert json.loads((tmp_path / "shots.schema.json").read_text(encoding="utf-8")) == schema()
    spec = load_spec(tmp_path / "shots.yaml")
    assert [s.name for s in spec.shots] == ["intro", "walk"]


def test_init_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shots.yaml").write_text("mine\n", encoding="utf-8")
    assert main(["init"]) == 1
    err = capsys.readouterr().err
    assert err == "shotbuild: error: shots.yaml already exists; init never overwrites a file\n"
    assert (tmp_path / "shots.yaml").read_text(encoding="utf-8") == "mine\n"
    assert not (tmp_path / "shots.schema.json").exists()
