"""Whole builds against hostile answers: no part of the key anywhere afterwards,
no control character reaching a terminal, no NaN or Infinity in the lock; a broken
config and two crashes in one second."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from engine_fakes import API_KEY, FakeHeyGen, heygen_backend, no_sleep

from shotbuild import cli
from shotbuild.build import BuildOptions, build
from shotbuild.progress import LineReporter
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache
from shotbuild.untrusted import terminal_safe

SPEC = """\
version: 1
defaults:
  avatar_id: [look_founder]
shots:
  echo:
    prompt: Echo the key.
  inject:
    prompt: Inject the terminal.
  weird:
    prompt: A weird duration.
"""
ESC_TEXT = "\x1b]0;owned\x07\r\x1b[2Kshotbuild: 9 built, 0 failed\x1b[31m"


class Hostile(FakeHeyGen):
    def __init__(self, duration: Any = "inf") -> None:
        super().__init__()
        self.duration = duration

    def _create(self, request: httpx.Request) -> httpx.Response:
        prompt = json.loads(request.content)["prompt"]
        if prompt == "Echo the key.":
            message = "y" * 170 + f" x-api-key: {API_KEY} is not valid " + "z" * 50
            return httpx.Response(400, json={"error": {"code": "bad", "message": message}})
        return super()._create(request)

    def _status(self, video_id: str) -> httpx.Response:
        response = super()._status(video_id)
        doc = json.loads(response.content)
        data = doc.get("data", {})
        job = self.jobs.get(video_id)
        if job is not None and job.body["prompt"] == "Inject the terminal.":
            data.update(status="failed", failure_code="x", failure_message=ESC_TEXT + API_KEY)
        elif data.get("status") == "completed":
            data["duration"] = self.duration
        return httpx.Response(200, content=json.dumps(doc).encode())


def slices(text: str, n: int = 8) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def files_holding(folder: Path, needles: set[str]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


@pytest.mark.parametrize("duration", ["inf", "nan", -5, "1e400"])
def test_hostile_answers_leave_no_key_no_escape_and_no_nan(
    chdir_tmp: Path, duration: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    (chdir_tmp / "shots.yaml").write_text(SPEC)
    stream = io.StringIO()
    with Cache() as cache:
        result = build(
            load_spec(chdir_tmp / "shots.yaml"),
            heygen_backend(Hostile(duration), cache),
            BuildOptions(keep_going=True),
            cache=cache,
            reporter=LineReporter(stream),
            sleep=no_sleep,
        )
        cache_dir = cache.directory
    assert result.exit_code == 1
    shown, as_json = stream.getvalue(), json.dumps(result.to_json())
    key_parts = slices(API_KEY)
    assert [p for p in key_parts if p in shown] == []
    assert [p for p in key_parts if p in as_json] == []
    lock = (chdir_tmp / "shots.lock").read_text()
    assert [p for p in key_parts if p in lock] == []
    assert files_holding(cache_dir, key_parts) == []
    assert files_holding(chdir_tmp / "build", key_parts) == []
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", shown)  # no ESC, CR, BEL
    assert "NaN" not in lock and "Infinity" not in lock
    assert json.loads(lock)["shots"]["weird"]["takes"]["1"]["duration"] >= 0


def test_error_line_of_the_cli_is_escaped(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.errors import ShotbuildError

    def boom() -> None:
        raise ShotbuildError(f"the API said {ESC_TEXT}")

    import click

    monkeypatch.setattr(cli, "cli", click.Command("boom", callback=boom))
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err and "\x07" not in err
    assert "\\x1b]0;owned" in err


def test_terminal_safe_keeps_new_lines_and_escapes_the_rest() -> None:
    assert terminal_safe("a\nb\tc") == "a\nb\tc"
    assert terminal_safe("\x1b[2J\r\x9b\u202e") == "\\x1b[2J\\x0d\\x9b\\u202e"


def test_two_crash_logs_in_one_second_do_not_overwrite_each_other(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import click

    from shotbuild import paths

    def bug() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "cli", click.Command("boom", callback=bug))
    monkeypatch.setattr("time.strftime", lambda fmt, *a: "20261201-094500")
    assert cli.main([]) == 3
    assert cli.main([]) == 3
    logs = sorted((paths.cache_dir() / "logs").iterdir())
    assert len(logs) == 2
    capsys.readouterr()


# -- the config file -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("pyproject.toml", 'tool = "x"\n', None),
        ("pyproject.toml", '[tool]\nshotbuild = "x"\n', "must be a table"),
        ("pyproject.toml", "[tool.shotbuild]\nremote_cache = 5\n", "must be a string"),
        ("shotbuild.toml", 'remote_cache = "ftp://host/x"\n', "not supported"),
        ("shotbuild.toml", 'remote_cache = "zip://nope"\n', "not supported"),
        ("shotbuild.toml", 'remote_cache = "simplecache::s3://b"\n', "not supported"),
        ("shotbuild.toml", 'remote_cache = "github://x"\n', "not supported"),
        ("shotbuild.toml", 'remote_cache = "s3://b"\nremote_cache_mode = "\x1b"\n', "TOML"),
        ("shotbuild.toml", "remote_cache = [[[[", "not valid TOML"),
        ("shotbuild.toml", b"\xff\xfe", "not valid TOML"),
        ("shotbuild.toml", b"# " + b"x" * (5 << 20), "larger than"),
        ("shotbuild.toml", b"a = " + b"[" * 100_000, "not valid TOML"),
    ],
)
def test_broken_config_is_one_line_exit_1(
    chdir_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str | bytes,
    says: str | None,
) -> None:
    (chdir_tmp / ".git").mkdir()
    (chdir_tmp / "shots.yaml").write_text(SPEC)
    path = chdir_tmp / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = cli.main(["build", "--backend", "preview", "--dry-run"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    if says is None:
        assert code == 0
    else:
        assert code == 1, err
        assert says in err
        assert len([line for line in err.splitlines() if "error" in line]) == 1
    os.unlink(path)


class Dripping(FakeHeyGen):
    """Answers each download one byte at a time, a little too slowly to be useful."""

    def _download(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        class Drip(httpx.AsyncByteStream):
            async def __aiter__(self) -> Any:
                for _ in range(10_000):
                    await asyncio.sleep(0.05)
                    yield b"x"

        return httpx.Response(200, stream=Drip())


def test_a_dripping_download_is_bounded_by_the_build_timeout(
    chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    (chdir_tmp / "shots.yaml").write_text(SPEC.split("  inject:")[0])
    started = time.monotonic()
    with Cache() as cache:
        result = build(
            load_spec(chdir_tmp / "shots.yaml"),
            heygen_backend(Dripping(), cache),
            BuildOptions(timeout=1.0),
            cache=cache,
            sleep=no_sleep,
        )
    assert result.exit_code == 1
    assert "did not finish within 1 s" in result.failed[0][1]
    assert time.monotonic() - started < 30
