"""The defects issue 10 lists, each held by a test that failed before it was fixed."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_fakes import FakeHeyGen, heygen_backend, make_shot, make_spec

from shotbuild.build import BuildOptions, build
from shotbuild.spec.model import Reference
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock

REPO = Path(__file__).resolve().parent.parent


async def _no_sleep(seconds: float) -> None:
    return None


def test_two_shots_sharing_a_changed_file_upload_it_once(tmp_path: Path) -> None:
    fake, cache = FakeHeyGen(), Cache(tmp_path / "cache")
    (tmp_path / "a.png").write_bytes(b"\x89PNG first version")
    ref = Reference(type="file", path="a.png")
    spec = make_spec(
        tmp_path,
        make_shot("one", references=(ref,)),
        make_shot("two", "Another.", references=(ref,)),
        make_shot("three", "A third.", references=(ref,)),
    )
    options = BuildOptions(jobs=3)
    first = build(spec, heygen_backend(fake, cache), options, cache=cache, sleep=_no_sleep)
    assert first.exit_code == 0 and fake.uploads == 1
    (tmp_path / "a.png").write_bytes(b"\x89PNG second version, changed")
    again = build(spec, heygen_backend(fake, cache), options, cache=cache, sleep=_no_sleep)
    assert again.exit_code == 0 and sorted(again.built) == ["one", "three", "two"]
    assert fake.uploads == 2  # one per content, however many shots wait for it
    assets = {job.body["references"][0]["asset_id"] for job in fake.jobs.values()}
    assert len(assets) == 2
    cache.close()


# -- an interrupted `build --force NAME` resumes its job ------------------------------

SPEC = """\
version: 1
defaults: {avatar_id: [look_founder], duration: 4}
shots:
  intro: {prompt: The founder says hello.}
  outro: {prompt: The founder waves goodbye.}
"""
KEY = "sk-engine-force-3b2a"


@pytest.fixture
def emulator() -> object:
    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread
    from shotbuild.preview import placeholder_mp4

    app = create_app(EmulatorConfig(api_key=KEY, latency=0.0), video_factory=placeholder_mp4)
    with serve_in_thread(app) as url:
        yield app, url


def _cli(spec: Path, url: str, *args: str, crash_at: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEYGEN_API_KEY": KEY, "HEYGEN_BASE_URL": url}
    if crash_at:
        env["SHOTBUILD_TEST_CRASH_AT"] = crash_at
    cmd = [sys.executable, "-m", "shotbuild", *args, str(spec)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=100)


@pytest.mark.parametrize("point", ["before-create", "after-create", "mid-download"])
def test_a_killed_force_is_resumed_not_paid_twice(
    tmp_path: Path, emulator: tuple[object, str], point: str
) -> None:
    """`--force` is reroll + pick: killed at any crash point, the old take stays the
    output and the lock stays valid; run again it resumes the take it started (one
    job, not two) and picks it; a force after that is a new job."""
    from shotbuild.emulator import world_of
    from shotbuild.store.lock import read_lock_file

    app, url = emulator
    spec = tmp_path / "shots.yaml"
    spec.write_text(SPEC)
    assert _cli(spec, url, "build").returncode == 0
    stats = world_of(app).stats
    assert stats.as_json()["jobs"] == 2
    first = read_lock(spec.with_suffix(".lock"))["intro"]
    killed = _cli(spec, url, "build", "--force", "intro", crash_at=point)
    assert killed.returncode == -9, killed.stderr
    status = _cli(spec, url, "status", "--json")
    shots = {s["name"]: s["status"] for s in json.loads(status.stdout)["shots"]}
    assert shots == {"intro": "up to date", "outro": "up to date"}, status.stderr
    assert read_lock(spec.with_suffix(".lock"))["intro"] == first  # take 1, still picked
    again = _cli(spec, url, "build", "--force", "intro")
    assert again.returncode == 0, again.stderr
    assert "1 built" in again.stderr
    assert world_of(app).stats.as_json()["jobs"] == 3  # the force paid once, not twice
    final = _cli(spec, url, "status", "--json")
    assert {s["status"] for s in json.loads(final.stdout)["shots"]} == {"up to date"}
    lock = read_lock(spec.with_suffix(".lock"))
    assert len({lock["intro"].video_id, lock["outro"].video_id, first.video_id}) == 3
    intro = read_lock_file(spec.with_suffix(".lock")).shots["intro"]
    assert intro.numbers == [1, 2] and intro.pick == 2 and intro.takes[1] == first
    assert _cli(spec, url, "build", "--force", "intro").returncode == 0
    assert world_of(app).stats.as_json()["jobs"] == 4  # a new force is a new job
    assert read_lock_file(spec.with_suffix(".lock")).shots["intro"].pick == 3


# -- the README's Python API example, as a script and from stdin ----------------------


def _readme_example() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("```python\nimport shotbuild.api as sb")
    return text[start + len("```python\n") : text.index("```", start + 10)]


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    spec = (REPO / "examples" / "launch" / "shots.yaml").read_text()
    folder = tmp_path / "examples" / "launch"
    folder.mkdir(parents=True)
    (folder / "shots.yaml").write_text(spec)
    return tmp_path


def _run_example(project: Path, how: str) -> subprocess.CompletedProcess[str]:
    code = _readme_example()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if how == "script":
        (project / "example.py").write_text(code)
        cmd = [sys.executable, "example.py"]
        return subprocess.run(
            cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
    cmd = [sys.executable, "-"]
    return subprocess.run(
        cmd, cwd=project, env=env, input=code, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("how", ["script", "stdin"])
def test_the_readme_api_example_runs(example_project: Path, how: str) -> None:
    pytest.importorskip("av")
    done = _run_example(example_project, how)
    assert done.returncode == 0, done.stderr[-2000:]
    counts, built = done.stdout.splitlines()[0], done.stdout.splitlines()[1]
    assert "'new': 5" in counts, done.stdout
    assert built.endswith("[] [] 0"), done.stdout  # nothing restored or failed, exit code 0
    previews = example_project / "examples" / "launch" / "build" / "preview"
    assert len(list(previews.glob("*.mp4"))) == 5


def test_the_python_api_freezes_the_loaded_spec_as_the_cli_does(tmp_path: Path) -> None:
    (tmp_path / "shots.yaml").write_text(SPEC)
    code = (
        "import gc, shotbuild.api as sb; before = gc.get_freeze_count();"
        f" sb.load({str(tmp_path / 'shots.yaml')!r}); print(before == 0, gc.get_freeze_count() > 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["True", "True"], done.stderr


def test_a_build_asked_to_freeze_its_plan_does_and_others_do_not(tmp_path: Path) -> None:
    """The CLI's builds (freeze_plan=True) plan with the cyclic collector paused and
    freeze what planning made; a build of the Python API (the review page's, many in
    one process) freezes nothing; the collector runs again after either."""
    fake, cache = FakeHeyGen(), Cache(tmp_path / "cache")
    spec = make_spec(tmp_path, make_shot("one"))
    assert build(spec, heygen_backend(fake, cache), cache=cache, sleep=_no_sleep).exit_code == 0
    gc.unfreeze()
    try:
        frozen = build(spec, heygen_backend(fake, cache), cache=cache, freeze_plan=True)
        assert gc.isenabled() and gc.get_freeze_count() > 0
        assert frozen.up_to_date == ["one"]
        assert not any(o is frozen.plan.items[0] for o in gc.get_objects())
    finally:
        gc.unfreeze()
    plain = build(spec, heygen_backend(fake, cache), cache=cache)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert any(o is plain.plan.items[0] for o in gc.get_objects())


def test_engine_messages_name_python_keywords_and_the_cli_its_flags(tmp_path: Path) -> None:
    from shotbuild.errors import UsageError

    spec = make_spec(tmp_path, make_shot("one"))
    with pytest.raises(UsageError) as raised:
        build(spec, heygen_backend(FakeHeyGen(), Cache(tmp_path / "c")), BuildOptions(only=("x",)))
    assert str(raised.value).startswith("`only`: no shot named x") and "--" not in str(raised.value)
    (tmp_path / "shots.yaml").write_text(SPEC)
    env = {**os.environ, "PYTHONPATH": str(REPO), "SHOTBUILD_BACKEND": "preview"}
    cmd = [sys.executable, "-m", "shotbuild", "build", "--only", "x", str(tmp_path / "shots.yaml")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "--only: no shot named x" in done.stderr
