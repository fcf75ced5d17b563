from __future__ import annotations

from pathlib import Path

import click
import pytest

from shotbuild import __version__, cli
from shotbuild.errors import ShotbuildError


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_only_commands_that_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        exists = (Path(cli.__file__).parent / "commands" / f"{cli.COMMANDS[name]}.py").exists()
        assert (f"  {name} " in out) == exists, name


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def _install(monkeypatch: pytest.MonkeyPatch, callback: object) -> None:
    @click.command("boom")
    def boom() -> object:
        return callback() if callable(callback) else callback

    monkeypatch.setattr(cli.LazyGroup, "get_command", lambda self, ctx, name: boom)


def test_known_error_is_one_line_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail() -> None:
        raise ShotbuildError("the thing is wrong; do this instead")

    _install(monkeypatch, fail)
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "shotbuild: error: the thing is wrong; do this instead\n"


def test_bug_is_exit_3_with_a_redacted_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOTBUILD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HEYGEN_API_KEY", "sk-secret-123")

    def bug() -> None:
        raise RuntimeError("unexpected sk-secret-123")

    _install(monkeypatch, bug)
    assert cli.main(["boom"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "sk-secret-123" not in err
    logs = list((tmp_path / "logs").glob("crash-*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert "RuntimeError" in text and "sk-secret-123" not in text


def test_interrupt_is_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    _install(monkeypatch, interrupt)
    assert cli.main(["boom"]) == 130


def test_command_return_value_is_the_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, 2)
    assert cli.main(["boom"]) == 2


def test_every_line_of_a_many_line_error_has_the_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "shots.yaml"
    spec.write_text("shots:\n  a: {prompt: p}\n  b: {prompt: q}\n", encoding="utf-8")
    assert cli.main(["plan", str(spec)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("shotbuild: error: ") for line in lines), lines


def test_json_failure_is_one_document_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    spec = tmp_path / "shots.yaml"
    spec.write_text("shots:\n  a: {prompt: p}\n", encoding="utf-8")
    assert cli.main(["plan", "--json", str(spec)]) == 1
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["format_version"] == 1 and "missing avatar_id" in doc["error"]
    assert "shotbuild: error:" in out.err


def test_validate_json_is_the_same_as_format_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "shots.yaml"
    spec.write_text("shots:\n  a: {prompt: p}\n", encoding="utf-8")
    assert cli.main(["validate", "--json", str(spec)]) == 1
    as_json = capsys.readouterr().out
    assert cli.main(["validate", "--format", "json", str(spec)]) == 1
    assert capsys.readouterr().out == as_json


def test_interrupt_says_jobs_keep_rendering_and_are_resumed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    _install(monkeypatch, interrupt)
    assert cli.main(["boom"]) == 130
    err = capsys.readouterr().err
    assert "keep rendering" in err and "resumes them" in err


def test_lock_alone_says_how_to_use_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lock"]) == 2
    assert "usage: shotbuild lock --check [SPEC]" in capsys.readouterr().err


def test_missing_key_for_looks_does_not_suggest_a_backend_option() -> None:
    from shotbuild.heygen.errors import MissingApiKey

    assert "--backend" not in str(MissingApiKey())
    assert "--backend preview" in str(MissingApiKey(offline_hint=True))


def test_plan_report_goes_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "shots.yaml"
    spec.write_text("shots:\n  a: {prompt: p, avatar_id: [l]}\n", encoding="utf-8")
    assert cli.main(["plan", "--backend", "preview", str(spec)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("a  new") and "plan (preview): 1 new" in out.out
    assert out.err == ""


def test_force_outside_only_is_refused_not_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "shots.yaml"
    spec.write_text(
        "shots:\n  a: {prompt: p, avatar_id: [l]}\n  b: {prompt: q, avatar_id: [l]}\n",
        encoding="utf-8",
    )
    code = cli.main(["build", "--backend", "preview", "--only", "a", "--force", "b", str(spec)])
    assert code == 2
    assert "--force b is not among --only" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()


def test_a_dead_api_origin_is_said_while_retrying(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HEYGEN_API_KEY", "sk-dead-origin-1")
    monkeypatch.setenv("HEYGEN_BASE_URL", f"http://127.0.0.1:{port}")

    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("asyncio.sleep", no_sleep)
    assert cli.main(["looks"]) == 1
    err = capsys.readouterr().err
    assert f"cannot reach http://127.0.0.1:{port}" in err and "trying again" in err
    assert "sk-dead-origin-1" not in err
