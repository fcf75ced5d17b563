"""A spec from a pull request: build_dir stays inside its folder, shot names are
portable, and reference files are read without following links, only when they
are regular files, checked at the moment they are read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shotbuild import cli
from shotbuild.fs import NotARegularFile, open_regular
from shotbuild.heygen import HeyGenClient
from shotbuild.keys import StatCachedHasher, UnreadableReference, shot_keys
from shotbuild.spec import load_spec

SHOT = "shots:\n  a:\n    prompt: p\n    avatar_id: [l]\n"


def both(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def write(folder: Path, text: str) -> Path:
    path = folder / "shots.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("build_dir", "says"),
    [
        ('"../../elsewhere"', "outside the spec's folder"),
        ('"sub/../../x"', "outside the spec's folder"),
        ('"/tmp/build"', "absolute"),
        ('"a\\0b"', "NUL byte"),
    ],
)
def test_build_dir_outside_the_spec_folder_is_a_validate_error_with_its_line(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str], build_dir: str, says: str
) -> None:
    write(chdir_tmp, f"version: 1\nbuild_dir: {build_dir}\n{SHOT}")
    assert cli.main(["validate", "shots.yaml"]) == 1
    err = both(capsys)
    assert "shots.yaml:2:12: build_dir:" in err and says in err
    assert cli.main(["build", "--backend", "preview", "shots.yaml"]) == 1
    assert not (chdir_tmp.parent / "elsewhere").exists()


def test_build_dir_that_is_a_link_out_of_the_folder_is_refused(
    chdir_tmp: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside, chdir_tmp / "build")
    write(chdir_tmp, f"version: 1\n{SHOT}".replace("shots:", "build_dir: build\nshots:"))
    assert cli.main(["validate", "shots.yaml"]) == 1
    assert "outside the spec's folder" in both(capsys)


@pytest.mark.parametrize("name", ["CON", "nul", "Com1", "aux.take2", "LPT9"])
def test_windows_device_names_are_refused(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    write(chdir_tmp, f"version: 1\n{SHOT.replace('  a:', f'  {name}:')}")
    assert cli.main(["validate", "shots.yaml"]) == 1
    assert "device name on Windows" in both(capsys)


def test_ordinary_names_like_device_names_pass(chdir_tmp: Path) -> None:
    write(chdir_tmp, f"version: 1\n{SHOT.replace('  a:', '  console:')}")
    assert cli.main(["validate", "shots.yaml"]) == 0


REF = (
    "version: 1\nshots:\n  a:\n    prompt: p\n    avatar_id: [l]\n"
    "    references: [{type: file, path: refs/r.png}]\n"
)


def test_fifo_as_a_reference_does_not_hang_plan(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    os.mkfifo(tmp_path / "refs" / "r.png")
    write(tmp_path, REF)
    env = {**os.environ, "SHOTBUILD_BACKEND": "preview"}
    done = subprocess.run(
        [sys.executable, "-m", "shotbuild", "plan", "--backend", "preview"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def hasher(root: Path) -> StatCachedHasher:
    store: dict[str, tuple[int, int, int, str]] = {}
    return StatCachedHasher(store.get, store.__setitem__, root=root)


def test_reference_swapped_for_a_link_after_validate_is_refused_when_read(
    tmp_path: Path,
) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "r.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("HEYGEN_API_KEY=...")
    spec = load_spec(write(tmp_path, REF))  # valid now
    os.unlink(tmp_path / "refs" / "r.png")
    os.symlink(tmp_path / "secret.txt", tmp_path / "refs" / "r.png")
    with pytest.raises(UnreadableReference, match="symbolic link"):
        shot_keys(spec, "heygen", hasher(spec.root))


def test_reference_folder_swapped_for_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "r.png").write_bytes(b"png")
    spec = load_spec(write(tmp_path, REF))
    other = tmp_path / "other"
    (tmp_path / "refs").rename(other)
    os.symlink(other, tmp_path / "refs")
    with pytest.raises(UnreadableReference, match="symbolic link"):
        shot_keys(spec, "heygen", hasher(spec.root))


def test_open_regular_refuses_devices_and_folders(tmp_path: Path) -> None:
    with pytest.raises(NotARegularFile):
        open_regular(Path("/dev/zero"))
    (tmp_path / "d").mkdir()
    with pytest.raises((NotARegularFile, IsADirectoryError)):
        open_regular(tmp_path / "d", tmp_path)
    with pytest.raises(NotARegularFile, match="outside"):
        open_regular(tmp_path / ".." / "x", tmp_path)


@pytest.mark.anyio
async def test_upload_refuses_a_reference_swapped_for_a_link(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", tmp_path / "r.png")
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {"asset_id": "a1"}})

    client = HeyGenClient("k" * 20, transport=httpx.MockTransport(handler))
    async with client:
        with pytest.raises(NotARegularFile):
            await client.upload_asset(tmp_path / "r.png", root=tmp_path)
    assert sent == []


def test_validate_says_what_plan_would_about_links_and_fifos(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (chdir_tmp / "real").mkdir()
    (chdir_tmp / "real" / "r.png").write_bytes(b"png")
    os.symlink(chdir_tmp / "real", chdir_tmp / "refs")
    os.mkfifo(chdir_tmp / "fifo.png")
    write(
        chdir_tmp,
        REF.replace("path: refs/r.png}", "path: refs/r.png}, {type: file, path: fifo.png}"),
    )
    assert cli.main(["validate", "shots.yaml"]) == 1
    text = both(capsys)
    assert "refs/r.png is or goes through a symbolic link" in text
    assert "fifo.png is not a regular file" in text
