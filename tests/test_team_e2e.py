"""Issue 6's "done when", end to end: machine A builds against the emulator (real
sockets on 127.0.0.1) and commits spec and lock to a real git repository; machine B
is a fresh `git clone` with its own empty cache. With the shared remote cache (a
`file://` folder, or S3 through s3fs against moto's server mode) B gets identical
outputs with zero creates and zero downloads from the API; with only the lock, zero
creates. Each build is a separate `shotbuild build` process, as on two machines."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SPEC_HEAD, RunningEmulator

from shotbuild.emulator import world_of

KEY = "sk-team-e2e-0b1c2d"
SPEC = (
    SPEC_HEAD
    + """\
  intro: {prompt: The founder says hello.}
  walk: {prompt: The founder walks through the office.}
  outro: {prompt: The founder waves goodbye., duration: 5}
"""
)
SHOTS = ("intro", "outro", "walk")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )


class Machine:
    """A clone of the project with its own cache folder."""

    def __init__(self, repo: Path, cache: Path, api: RunningEmulator) -> None:
        self.repo, self.cache, self.api = repo, cache, api

    def build(self, *args: str, **env: str) -> tuple[int, dict[str, Any], str]:
        environ = {
            **os.environ,
            "HEYGEN_API_KEY": KEY,
            "HEYGEN_BASE_URL": self.api.url,
            "SHOTBUILD_CACHE_DIR": str(self.cache),
            **env,
        }
        cmd = [sys.executable, "-m", "shotbuild", "build", "--json", "shots.yaml", *args]
        done = subprocess.run(
            cmd, cwd=self.repo, env=environ, capture_output=True, text=True, timeout=100
        )
        return done.returncode, json.loads(done.stdout or "{}"), done.stderr

    def outputs(self) -> dict[str, str]:
        build = self.repo / "build"
        return {n: hashlib.sha256((build / f"{n}.mp4").read_bytes()).hexdigest() for n in SHOTS}


@pytest.fixture
def api(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(latency=0.0)


@pytest.fixture
def clone(tmp_path: Path, api: RunningEmulator) -> Callable[[str], Machine]:
    """clone(name) -> a fresh clone of the project repository, with an empty cache."""

    def make(name: str) -> Machine:
        git(tmp_path, "clone", "-q", str(tmp_path / "origin"), name)
        return Machine(tmp_path / name, tmp_path / f"{name}-cache", api)

    return make


def machine_a(tmp_path: Path, api: RunningEmulator, **env: str) -> Machine:
    """Machine A: writes the spec, builds it, commits spec and lock (not build/)."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "shots.yaml").write_text(SPEC)
    (repo / ".gitignore").write_text("build/\n")
    a = Machine(repo, tmp_path / "a-cache", api)
    code, doc, err = a.build(**env)
    assert code == 0, err
    assert sorted(doc["built"]) == list(SHOTS)
    git(repo, "add", "shots.yaml", "shots.lock", ".gitignore")
    git(repo, "commit", "-q", "-m", "render the launch shots")
    return a


def counts(api: RunningEmulator) -> tuple[int, int]:
    stats = api.stats()
    return int(str(stats["jobs"])), int(str(stats["downloads"]))


def assert_restored(doc: dict[str, Any], b: Machine, a: Machine) -> None:
    assert sorted(doc["restored"]) == list(SHOTS) and doc["built"] == []
    assert b.outputs() == a.outputs()
    assert (b.repo / "shots.lock").read_text() == (a.repo / "shots.lock").read_text()
    assert not list((b.repo / "build").glob("*.tmp"))


def test_a_clone_with_the_file_remote_cache_needs_no_render_and_no_download(
    tmp_path: Path, api: RunningEmulator, clone: Callable[[str], Machine]
) -> None:
    shared = (tmp_path / "shared").as_uri()
    a = machine_a(tmp_path, api, SHOTBUILD_REMOTE_CACHE=shared)
    assert counts(api) == (3, 3)
    b = clone("b")
    assert not (b.repo / "build").exists() and (b.repo / "shots.lock").is_file()
    # a laptop reads the shared cache (read mode), set by option this time
    before = api.stats()["requests"]
    code, doc, err = b.build("--remote-cache", shared, "--remote-cache-mode", "read")
    assert code == 0, err
    assert_restored(doc, b, a)
    assert counts(api) == (3, 3)  # zero creates, zero downloads
    assert api.stats()["requests"] == before  # it did not even ask for a status
    # with only the lock (no remote cache): zero creates, the API's copies downloaded
    c = clone("c")
    code, doc, err = c.build()
    assert code == 0, err
    assert_restored(doc, c, a)
    assert counts(api) == (3, 6)


def test_a_clone_with_the_remote_cache_in_the_project_config(
    tmp_path: Path, api: RunningEmulator, clone: Callable[[str], Machine]
) -> None:
    shared = (tmp_path / "shared").as_uri()
    a = machine_a(tmp_path, api, SHOTBUILD_REMOTE_CACHE=shared)
    (a.repo / "shotbuild.toml").write_text(
        f'remote_cache = "{shared}"\nremote_cache_mode = "read"\n'
    )
    git(a.repo, "add", "shotbuild.toml")
    git(a.repo, "commit", "-q", "-m", "share renders")
    b = clone("b")
    code, doc, err = b.build(HEYGEN_API_KEY="")  # a designer's laptop: no API key needed
    assert code == 0, err
    assert_restored(doc, b, a)
    assert counts(api) == (3, 3)
    # without the remote cache the same laptop is told what is missing, in one line
    c = clone("c")
    (c.repo / "shotbuild.toml").unlink()
    code, doc, err = c.build(HEYGEN_API_KEY="")
    assert code == 1 and "HEYGEN_API_KEY is not set" in err and counts(api) == (3, 3)


def test_a_render_heygen_forgot_needs_rerender_missing(
    tmp_path: Path, api: RunningEmulator, clone: Callable[[str], Machine]
) -> None:
    a = machine_a(tmp_path, api)
    lock = json.loads((a.repo / "shots.lock").read_text())
    gone = lock["shots"]["walk"]["takes"]["1"]["video_id"]
    del world_of(api.app).jobs[gone]  # HeyGen deleted it (the build is not running)
    b = clone("b")
    code, doc, err = b.build("-k")
    assert code == 1 and sorted(doc["restored"]) == ["intro", "outro"]
    [failed] = doc["failed"]
    assert failed["name"] == "walk" and "--rerender-missing" in failed["message"]
    assert f"HeyGen no longer has the locked render {gone} (404)" in failed["message"]
    assert counts(api)[0] == 3
    code, doc, err = b.build("--rerender-missing")
    assert code == 0, err
    assert doc["built"] == ["walk"] and counts(api)[0] == 4
    assert "walk: HeyGen no longer has" in err and "rendering it again" in err
    relocked = json.loads((b.repo / "shots.lock").read_text())["shots"]["walk"]["takes"]["1"]
    assert relocked["key"] == lock["shots"]["walk"]["key"] and relocked["video_id"] != gone


def test_a_clone_with_an_s3_remote_cache_needs_no_render_and_no_download(
    tmp_path: Path,
    api: RunningEmulator,
    clone: Callable[[str], Machine],
    s3_endpoint: str,
    fake_aws: None,
) -> None:
    import s3fs

    bucket = f"shots-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True).mkdir(bucket)
    env = {"SHOTBUILD_REMOTE_CACHE": f"s3://{bucket}/team", "AWS_ENDPOINT_URL": s3_endpoint}
    a = machine_a(tmp_path, api, **env, SHOTBUILD_REMOTE_CACHE_MODE="readwrite")
    assert counts(api) == (3, 3)
    b = clone("b")
    code, doc, err = b.build(**env, SHOTBUILD_REMOTE_CACHE_MODE="read")
    assert code == 0, err
    assert_restored(doc, b, a)
    assert counts(api) == (3, 3)
    stored = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)
    blobs = stored.find(f"{bucket}/team/blobs")
    assert sorted(p.rsplit("/", 1)[1] for p in blobs) == sorted(set(a.outputs().values()))
    assert stored.find(f"{bucket}/team/tmp") == []


def test_an_unreachable_remote_cache_is_one_warning_not_a_failed_build(
    tmp_path: Path, api: RunningEmulator, clone: Callable[[str], Machine], fake_aws: None
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "SHOTBUILD_REMOTE_CACHE": "s3://shots/team",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_MAX_ATTEMPTS": "1",
    }
    a = machine_a(tmp_path, api)
    b = clone("b")
    code, doc, err = b.build(**env)
    assert code == 0, err
    assert_restored(doc, b, a)
    warnings = [line for line in err.splitlines() if "remote cache s3://shots/team" in line]
    assert len(warnings) == 1 and "going on without it for this run" in warnings[0], err
    assert warnings[0].startswith("warning: remote cache s3://shots/team: cannot ")
