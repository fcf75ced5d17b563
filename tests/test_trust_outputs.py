"""The outputs manifest is not a trust root: a committed or hostile
`.shotbuild-outputs.json` can make shotbuild delete or overwrite nothing but the
files it wrote itself, inside the build folder, with the bytes it wrote."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import FakeHeyGen, heygen_backend, no_sleep
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild import cli
from shotbuild.build import BuildOptions, build
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache
from shotbuild.store.outputs import MANIFEST_NAME, DamagedBlob, Manifest, OutputInTheWay

SPEC = """\
version: 1
defaults:
  avatar_id: [look_founder]
shots:
  demo:
    prompt: The founder demos the product.
"""
HEX = "a" * 64


def entry(**over: Any) -> dict[str, Any]:
    base = {
        "shot": "demo",
        "backend": "heygen",
        "key": HEX,
        "sha256": HEX,
        "size": 4,
        "mtime_ns": 1,
        "inode": 1,
        "spec": None,
    }
    return {**base, **over}


def write_manifest(build_dir: Path, outputs: dict[str, Any]) -> None:
    build_dir.mkdir(parents=True, exist_ok=True)
    doc = {"format_version": 1, "outputs": outputs}
    (build_dir / MANIFEST_NAME).write_text(json.dumps(doc))


@pytest.fixture
def project(chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.fake-heygen.test")
    (chdir_tmp / "shots.yaml").write_text(SPEC)
    return chdir_tmp


def heygen_build(spec: Path, fake: FakeHeyGen) -> int:
    with Cache() as cache:
        result = build(
            load_spec(spec),
            heygen_backend(fake, cache),
            BuildOptions(),
            cache=cache,
            sleep=no_sleep,
        )
    return result.exit_code


@pytest.mark.parametrize("rel", ["../../victim.mp4", "ABSOLUTE", "../victim.mp4", "x/../../v.mp4"])
def test_manifest_naming_a_file_outside_the_build_folder_deletes_nothing(
    project: Path, rel: str
) -> None:
    victim = project.parent / "victim.mp4" if rel != "ABSOLUTE" else project / "abs-victim.mp4"
    victim.write_bytes(b"mine")
    name = str(victim) if rel == "ABSOLUTE" else rel
    write_manifest(project / "build", {name: entry(size=4)})
    assert cli.main(["clean"]) == 0
    assert victim.read_bytes() == b"mine"
    # a build whose spec no longer has the shot removes "left the spec" outputs
    (project / "shots.yaml").write_text(SPEC.replace("demo:", "other:"))
    assert heygen_build(project / "shots.yaml", FakeHeyGen()) == 0
    assert victim.read_bytes() == b"mine"


def test_hostile_manifest_entries_are_not_loaded(tmp_path: Path) -> None:
    outputs = {
        "../x.mp4": entry(),
        "/etc/passwd": entry(),
        "a.mp4": entry(sha256="/proc/self/environ"),
        "b.mp4": entry(size=-1),
    }
    write_manifest(tmp_path, outputs)
    assert Manifest(tmp_path).entries == {}


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b'{"outputs": {}, "outputs": {}}', b'{"a": NaN}', b"\xff"],
)
def test_damaged_manifest_is_read_as_empty(tmp_path: Path, content: bytes) -> None:
    (tmp_path / MANIFEST_NAME).write_bytes(content)
    assert Manifest(tmp_path).entries == {}


def test_manifest_that_is_a_fifo_or_a_link_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    os.symlink("/dev/zero", tmp_path / MANIFEST_NAME)
    assert Manifest(tmp_path).entries == {}
    os.unlink(tmp_path / MANIFEST_NAME)
    os.mkfifo(tmp_path / MANIFEST_NAME)
    assert Manifest(tmp_path).entries == {}


def test_clean_keeps_a_users_file_that_replaced_an_output(project: Path) -> None:
    assert heygen_build(project / "shots.yaml", FakeHeyGen()) == 0
    output = project / "build" / "demo.mp4"
    output.unlink()
    output.write_bytes(b"my own edit of the video")
    assert cli.main(["clean"]) == 0
    assert output.read_bytes() == b"my own edit of the video"


def test_build_does_not_overwrite_a_users_file_that_replaced_an_output(project: Path) -> None:
    fake = FakeHeyGen()
    assert heygen_build(project / "shots.yaml", fake) == 0
    output = project / "build" / "demo.mp4"
    output.unlink()
    output.write_bytes(b"my own edit")
    (project / "shots.yaml").write_text(SPEC.replace("demos", "shows"))
    assert heygen_build(project / "shots.yaml", fake) == 1
    assert output.read_bytes() == b"my own edit"


def test_clean_does_not_follow_a_link_in_place_of_an_output(project: Path) -> None:
    assert heygen_build(project / "shots.yaml", FakeHeyGen()) == 0
    output = project / "build" / "demo.mp4"
    victim = project / "victim.mp4"
    victim.write_bytes(output.read_bytes())  # even with the very bytes shotbuild wrote
    output.unlink()
    os.symlink(victim, output)
    assert cli.main(["clean"]) == 0
    assert victim.exists()


def test_place_rehashes_the_blob_and_places_nothing_damaged(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"tampered")
    manifest = Manifest(tmp_path / "build")
    with pytest.raises(DamagedBlob):
        manifest.place("demo.mp4", blob, hashlib.sha256(b"original").hexdigest())
    assert not (tmp_path / "build" / "demo.mp4").exists()


def test_place_refuses_a_foreign_file_and_a_linked_folder(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"render")
    sha = hashlib.sha256(b"render").hexdigest()
    build_dir = tmp_path / "build"
    (build_dir).mkdir()
    (build_dir / "demo.mp4").write_bytes(b"someone's")
    with pytest.raises(OutputInTheWay):
        Manifest(build_dir).place("demo.mp4", blob, sha)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, build_dir / "preview")
    with pytest.raises(OutputInTheWay):
        Manifest(build_dir).place("preview/demo.mp4", blob, sha)
    assert list(outside.iterdir()) == []


json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_doc = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=3),
    max_leaves=15,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    outputs=st.dictionaries(st.text(max_size=30), json_doc | st.fixed_dictionaries({}), max_size=3)
)
def test_any_manifest_loads_without_error_and_only_safe_paths(
    tmp_path: Path, outputs: dict[str, Any]
) -> None:
    write_manifest(tmp_path, outputs)
    for rel in Manifest(tmp_path).entries:
        assert ".." not in rel and not rel.startswith("/")
