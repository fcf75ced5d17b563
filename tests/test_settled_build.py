"""A build whose every shot is settled (up to date, or only a cosmetic change) does
without the engine (executor, jobs, recorder: build/run.py `_settle`); what it
leaves must be what the engine left: the result, the manifest, the lock, takes/,
the temporary files of a killed build, the list of jobs in flight."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import FakeHeyGen, heygen_backend, make_shot, make_spec

from shotbuild.backends.preview import PreviewBackend
from shotbuild.build import BuildOptions, BuildResult, build, run
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache
from shotbuild.store.outputs import MANIFEST_NAME


async def _no_sleep(seconds: float) -> None:
    return None


def _built(folder: Path) -> tuple[Spec, FakeHeyGen]:
    fake = FakeHeyGen()
    spec = make_spec(
        folder, make_shot("a", title="A"), make_shot("b", prompt="A founder at a desk.")
    )
    with Cache(folder / "cache") as cache:
        assert build(spec, heygen_backend(fake, cache), cache=cache, sleep=_no_sleep).built
    return spec, fake


def _leftovers(spec: Spec) -> None:
    """What a settled build tidies: a killed copy's temporary file, an empty takes/,
    and a job listed in flight that needs nothing more (an earlier version of a
    shot, whose create never answered)."""
    (spec.build_dir / ".a.mp4.x1y2.tmp").write_bytes(b"half")
    (spec.build_dir / "takes").mkdir()
    with Cache(spec.path.parent / "cache") as cache:
        cache.track_job(spec.path, "0" * 64, "a", live=True)
        cache.flush_in_flight()
        assert cache.in_flight(spec.path) == {"0" * 64: "a"}


def _no_op(spec: Spec, fake: FakeHeyGen) -> tuple[BuildResult, dict[str, Any]]:
    """The build, and what it left (the parts of it that differ between two folders
    built alike left out: paths, times, inodes)."""
    folder = spec.path.parent
    manifest, lock = spec.build_dir / MANIFEST_NAME, spec.lock_path
    stamps = [(p.stat().st_mtime_ns, p.stat().st_ino) for p in (manifest, lock)]
    with Cache(folder / "cache") as cache:
        result = build(spec, heygen_backend(fake, cache), cache=cache, sleep=_no_sleep)
        flying = cache.in_flight(spec.path)
    outputs = json.loads(manifest.read_text())["outputs"]
    for owned in outputs.values():
        for varies in ("mtime_ns", "inode", "built_at", "spec"):
            owned.pop(varies)
    state = {
        "result": {**result.to_json(), "spec": None},
        "outputs": outputs,
        "rewritten": [(p.stat().st_mtime_ns, p.stat().st_ino) for p in (manifest, lock)] != stamps,
        "files": sorted(
            str(p.relative_to(folder)) for p in folder.rglob("*") if "cache" not in p.parts
        ),
        "in flight": flying,
        "lists in flight": [p.suffix for p in (folder / "cache" / "inflight").iterdir()],
    }
    return result, state


@pytest.mark.parametrize("retitled", [False, True])
def test_a_settled_build_leaves_what_the_engine_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, retitled: bool
) -> None:
    outcomes = []
    for engine in (False, True):
        folder = tmp_path / ("engine" if engine else "settled")
        spec, fake = _built(folder)
        _leftovers(spec)
        if retitled:
            shots = (spec.shots[0].replace(title="A new title"), spec.shots[1])
            spec = spec.replace(shots=shots)
        with monkeypatch.context() as m:
            if engine:
                m.setattr(run, "_settled", lambda *args: False)
            result, state = _no_op(spec, fake)
        assert result.up_to_date == ["a", "b"] and fake.create_requests == 2
        assert state["in flight"] == {} and state["lists in flight"] == []  # folded
        assert state["files"] == [
            "build",
            f"build/{MANIFEST_NAME}",
            "build/a.mp4",
            "build/b.mp4",
            "shots.lock",
        ]
        outcomes.append(state)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0]["outputs"]["a.mp4"]["title"] == ("A new title" if retitled else "A")
    assert outcomes[0]["rewritten"] == retitled  # the manifest only; the lock never


def test_a_take_file_a_build_wrote_goes_the_engine_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, fake = _built(tmp_path)
    with Cache(tmp_path / "cache") as cache:
        backend = heygen_backend(fake, cache)
        build(spec, backend, BuildOptions(all_takes=True), cache=cache, sleep=_no_sleep)
    assert (spec.build_dir / "takes" / "a" / "1.mp4").exists()
    settled = []
    monkeypatch.setattr(run, "_settle", lambda *args: settled.append(args))
    result, state = _no_op(spec, fake)
    assert settled == [] and result.up_to_date == ["a", "b"]
    assert "build/takes/a/1.mp4" in state["files"]


def test_a_preview_build_with_nothing_to_do_settles_too(tmp_path: Path) -> None:
    pytest.importorskip("av")
    spec = make_spec(tmp_path, make_shot("a"))
    with Cache(tmp_path / "cache") as cache:
        assert build(spec, PreviewBackend(cache), cache=cache).built == ["a"]
        (spec.build_dir / "takes").mkdir()  # not a paid backend's: no takes/ to tidy
        again = build(spec, PreviewBackend(cache), cache=cache)
    assert again.up_to_date == ["a"] and (spec.build_dir / "takes").is_dir()
