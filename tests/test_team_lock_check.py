"""`shotbuild lock --check`: the CI gate, offline, with its backend identity explained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SpecWriter
from engine_fakes import BASE_URL, FakeHeyGen, heygen_backend, no_sleep

from shotbuild import cli
from shotbuild.build import build
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache

SPEC = """\
version: 1
defaults: {avatar_id: [look_founder]}
shots:
  intro: {prompt: Hello.}
  outro: {prompt: Goodbye.}
"""


@pytest.fixture
def built(chdir_tmp: Path, write_spec: SpecWriter) -> Path:
    spec = write_spec(SPEC, folder=chdir_tmp)
    with Cache() as cache:
        result = build(load_spec(spec), heygen_backend(FakeHeyGen(), cache), sleep=no_sleep)
    assert result.exit_code == 0
    return spec


def check(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A separate process with no API key and only the environment given."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEYGEN_")}
    code = (
        "import sys; from shotbuild.cli import main; rc = main(sys.argv[1:]);"
        "net = [m for m in ('httpx', 'shotbuild.heygen.client', 'fsspec') if m in sys.modules];"
        "print('imported:', net, file=sys.stderr); sys.exit(rc)"
    )
    cmd = [sys.executable, "-c", code, "lock", "--check", *args]
    return subprocess.run(cmd, env={**environ, **env}, capture_output=True, text=True)


def test_a_matching_lock_passes_offline_without_a_key(built: Path) -> None:
    done = check(HEYGEN_BASE_URL=BASE_URL)
    assert done.returncode == 0, done.stderr
    assert "matches the spec (2 shots)" in done.stdout and "imported: []" in done.stderr


def test_new_changed_and_gone_shots_are_listed_with_json(built: Path) -> None:
    built.write_text(SPEC.replace("Hello.", "Hi there.").replace("outro", "credits"))
    done = check("--json", HEYGEN_BASE_URL=BASE_URL)
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["format_version"] == 1 and doc["ok"] is False
    assert doc["problems"] == [
        {"shot": "intro", "problem": "changed since it was built"},
        {"shot": "credits", "problem": "not in the lock"},
        {"shot": "outro", "problem": "in the lock but not in the spec"},
    ]
    assert "shots.lock: credits: not in the lock" in done.stderr  # stdout holds the JSON


def test_a_lock_from_another_origin_says_which(built: Path) -> None:
    done = check()  # no HEYGEN_BASE_URL: the real API's origin
    assert done.returncode == 1
    assert (
        f"intro: rendered by {BASE_URL}, checked for https://api.heygen.com"
        " (see $HEYGEN_BASE_URL)" in done.stdout
    )


def test_help_explains_the_backend_identity(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lock", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "$HEYGEN_BASE_URL (default https://api.heygen.com)" in text and "no API key" in text
