"""clean() and status() as values: what the commands print, without a command."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SpecWriter
from engine_fakes import API_KEY, BASE_URL, FakeHeyGen, heygen_backend, no_sleep

from shotbuild.backends.base import JobStatus
from shotbuild.build import BuildOptions, build
from shotbuild.clean import clean
from shotbuild.errors import ShotbuildError
from shotbuild.jobstatus import in_flight, status
from shotbuild.plan import IN_FLIGHT
from shotbuild.settings import HeyGenAccess, Settings
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache
from shotbuild.store.outputs import Manifest

SPEC = """\
version: 1
defaults: {avatar_id: [look_founder]}
shots:
  intro: {prompt: Hello.}
  outro: {prompt: Goodbye.}
"""
HEYGEN = Settings(heygen=HeyGenAccess(BASE_URL, API_KEY))


def built(spec_file: Path, fake: FakeHeyGen, **options: object) -> int:
    with Cache() as cache:
        backend = heygen_backend(fake, cache)
        result = build(load_spec(spec_file), backend, BuildOptions(**options), sleep=no_sleep)
    return result.exit_code


# -- clean ------------------------------------------------------------------------------


def test_clean_removes_only_this_specs_outputs(write_spec: SpecWriter, tmp_path: Path) -> None:
    spec_file = write_spec(SPEC)
    assert built(spec_file, FakeHeyGen()) == 0
    out = tmp_path / "build"
    (out / "notes.txt").write_text("mine, not shotbuild's")
    spec = load_spec(spec_file)

    planned = clean(spec, dry_run=True)
    assert planned.dry_run and planned.paths == (out / "intro.mp4", out / "outro.mp4")
    assert all(p.is_file() for p in planned.paths)  # a dry run removes nothing

    done = clean(spec)
    assert done.paths == planned.paths and not done.dry_run
    assert not any(p.exists() for p in done.paths)
    assert (out / "notes.txt").is_file() and spec.lock_path.is_file()  # the lock stays
    assert not Manifest(out).path.exists()  # nothing left to own
    assert clean(spec).paths == ()  # again: nothing to do


def test_clean_leaves_another_specs_outputs_in_a_shared_folder(
    write_spec: SpecWriter, tmp_path: Path
) -> None:
    shared = "build_dir: out\n"
    one = write_spec(SPEC + shared, name="one.shots.yaml")
    two = write_spec(
        SPEC.replace("intro", "opener").replace("outro", "closer") + shared, name="two.shots.yaml"
    )
    assert built(one, FakeHeyGen()) == 0 and built(two, FakeHeyGen()) == 0
    removed = clean(load_spec(one)).paths
    assert [p.name for p in removed] == ["intro.mp4", "outro.mp4"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mp4")) == ["closer.mp4", "opener.mp4"]
    assert set(Manifest(tmp_path / "out").entries) == {"closer.mp4", "opener.mp4"}


def test_clean_of_a_folder_never_built_is_empty(write_spec: SpecWriter, tmp_path: Path) -> None:
    spec = load_spec(write_spec(SPEC))
    assert clean(spec, tmp_path / "elsewhere") == clean(spec, tmp_path / "elsewhere", dry_run=False)
    assert clean(spec, tmp_path / "elsewhere").paths == ()


# -- status -----------------------------------------------------------------------------


class Jobs:
    """A job source that answers from a table and records what it was asked."""

    def __init__(self, answers: dict[str, JobStatus] | None = None, fail: bool = False) -> None:
        self.answers, self.fail = answers or {}, fail
        self.asked: list[str] = []
        self.closed = False

    async def status(self, video_id: str) -> JobStatus:
        self.asked.append(video_id)
        if self.fail:
            raise ShotbuildError("cannot reach the API")
        return self.answers.get(video_id, JobStatus("pending"))

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def api() -> FakeHeyGen:
    return FakeHeyGen(polls_to_finish=10**6)


@pytest.fixture
def flying(write_spec: SpecWriter, api: FakeHeyGen) -> Path:
    """A spec whose shot `intro` has a job in flight (the build timed out waiting)."""
    spec_file = write_spec(SPEC.split("  outro:")[0])
    assert built(spec_file, api, timeout=1) == 1
    return spec_file


def test_status_with_nothing_in_flight_asks_nothing(write_spec: SpecWriter) -> None:
    jobs = Jobs()
    with Cache() as cache:
        result = status(load_spec(write_spec(SPEC)), HEYGEN, cache, jobs=jobs)
    assert result.live == {} and result.live_error is None and jobs.asked == []
    assert result.to_json() == result.plan.to_json()


def test_status_asks_each_job_in_flight_and_closes(flying: Path) -> None:
    with Cache() as cache:
        first = status(load_spec(flying), HEYGEN, cache, jobs=Jobs())
        [(name, video_id)] = in_flight(first.plan)
        failed = JobStatus("failed", failure_code="MOVIE_FAILED", failure_message="bad look")
        jobs = Jobs({video_id: failed})
        result = status(load_spec(flying), HEYGEN, cache, jobs=jobs)
    assert name == "intro" and first.live == {"intro": "pending"}
    assert jobs.asked == [video_id] and jobs.closed
    assert result.live == {"intro": "failed (MOVIE_FAILED: bad look)"}
    doc = result.to_json()
    assert doc["shots"][0]["status"] == IN_FLIGHT
    assert doc["shots"][0]["api_status"] == "failed (MOVIE_FAILED: bad look)"
    assert "api_status" not in result.plan.to_json()["shots"][0]  # the plan is left as it is


def test_status_through_the_heygen_backend(flying: Path, api: FakeHeyGen) -> None:
    asked = api.status_requests
    with Cache() as cache:
        result = status(load_spec(flying), HEYGEN, cache, jobs=heygen_backend(api, cache))
    assert result.live == {"intro": "pending"} and api.status_requests == asked + 1


def test_status_says_why_the_api_could_not_be_asked(flying: Path) -> None:
    jobs = Jobs(fail=True)
    with Cache() as cache:
        failed = status(load_spec(flying), HEYGEN, cache, jobs=jobs)
        no_key = status(load_spec(flying), Settings(heygen=HeyGenAccess(BASE_URL)), cache)
    assert failed.live == {} and failed.live_error == "cannot reach the API" and jobs.closed
    assert failed.plan.items[0].status == IN_FLIGHT  # the plan still stands
    assert no_key.live == {} and no_key.live_error and "HEYGEN_API_KEY" in no_key.live_error


def test_the_python_api_returns_the_same_status(
    flying: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild import api

    monkeypatch.setenv("HEYGEN_BASE_URL", BASE_URL)
    result = api.status(flying)  # no key in the environment: the live part says why
    assert isinstance(result, api.Status) and result.plan.items[0].status == IN_FLIGHT
    assert result.live == {} and result.live_error and "HEYGEN_API_KEY" in result.live_error
    preview = api.status(flying, backend="preview")
    assert preview.live == {} and preview.live_error is None and preview.plan.backend == "preview"
