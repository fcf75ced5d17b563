"""The executor against a stateful fake of the HeyGen API (httpx.MockTransport)."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import pytest
from engine_fakes import (
    API_KEY,
    FakeHeyGen,
    World,
    heygen_backend,
    make_shot,
    make_spec,
    no_sleep,
    video_bytes,
)

from shotbuild.build import BuildOptions, build
from shotbuild.build import crash as build_module
from shotbuild.errors import ShotbuildError
from shotbuild.plan import CHANGED, COSMETIC, IN_FLIGHT, NEW, RESTORE, UP_TO_DATE, make_plan
from shotbuild.spec.model import Reference, Spec
from shotbuild.store.cache import JOB_INTENT, BuildLocked, Cache
from shotbuild.store.lock import read_lock


def four(folder: Path) -> Spec:
    return make_spec(
        folder,
        *(make_shot(f"shot-{i}", f"Prompt number {i}.", duration=4 + i) for i in range(4)),
    )


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_four_shots_four_jobs_then_an_unchanged_rebuild_costs_nothing(
    world: World, tmp_path: Path
) -> None:
    spec = four(tmp_path)
    result = world.build(spec)
    assert result.exit_code == 0 and sorted(result.built) == [f"shot-{i}" for i in range(4)]
    assert world.fake.creates == 4 and world.fake.create_requests == 4
    lock = read_lock(spec.lock_path)
    assert sorted(lock) == sorted(result.built)
    for name, entry in lock.items():
        data = (tmp_path / "build" / f"{name}.mp4").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256 and len(data) == entry.size
        assert data == video_bytes(entry.video_id)
        assert entry.origin == "https://api.fake-heygen.test"
    assert result.seconds == 4 + 5 + 6 + 7

    requests_before = (world.fake.create_requests, world.fake.status_requests)
    again = world.build(spec)
    assert again.built == [] and sorted(again.up_to_date) == sorted(lock)
    assert (world.fake.create_requests, world.fake.status_requests) == requests_before
    assert set(world.plan_statuses(spec).values()) == {UP_TO_DATE}


def test_two_shots_with_the_same_inputs_build_then_rebuild_to_nothing(
    world: World, tmp_path: Path
) -> None:
    # one key for two shots (only the title differs): the first build crashed with a
    # KeyError when the list of jobs in flight dropped that key for the second time
    spec = make_spec(tmp_path, make_shot("a", title="A"), make_shot("b"))
    result = world.build(spec)
    assert result.exit_code == 0 and sorted(result.built) == ["a", "b"]
    assert world.fake.creates == 2  # a shot each: two takes of the same inputs
    again = world.build(spec)
    assert again.built == [] and sorted(again.up_to_date) == ["a", "b"]
    assert world.fake.creates == 2


def test_reorder_and_title_change_render_nothing(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    world.build(spec)
    shots = list(reversed(spec.shots))
    shots[0] = shots[0].replace(title="A new title", callback_url="https://x.test")
    changed = spec.replace(shots=tuple(shots))
    statuses = world.plan_statuses(changed)
    assert statuses[shots[0].name] == COSMETIC
    result = world.build(changed)
    assert result.built == [] and world.fake.creates == 4
    assert world.plan_statuses(changed)[shots[0].name] == UP_TO_DATE


def test_one_changed_prompt_renders_one(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    world.build(spec)
    shots = list(spec.shots)
    shots[2] = shots[2].replace(prompt="  A different prompt.\n")
    changed = spec.replace(shots=tuple(shots))
    plan = make_plan(changed, heygen_backend(world.fake, world.cache), world.cache)
    item = next(i for i in plan.items if i.name == "shot-2")
    assert item.status == CHANGED and item.fields == ("prompt",) and plan.seconds == 6
    result = world.build(changed)
    assert result.built == ["shot-2"] and world.fake.creates == 5
    assert world.fake.jobs["vid_5"].body["prompt"] == "A different prompt."


def test_deleted_output_is_restored_without_a_render(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    world.build(spec)
    (tmp_path / "build" / "shot-1.mp4").unlink()
    assert world.plan_statuses(spec)["shot-1"] == RESTORE
    result = world.build(spec)
    assert result.restored == ["shot-1"] and world.fake.creates == 4
    assert world.fake.downloads == 4  # from the local blob cache
    # with the cache gone, the lock is enough: download again by video_id, no render
    (tmp_path / "build" / "shot-2.mp4").unlink()
    shutil.rmtree(tmp_path / "cache")
    world.cache = Cache(tmp_path / "cache")
    result = world.build(spec)
    assert result.restored == ["shot-2"] and world.fake.creates == 4
    assert world.fake.downloads == 5


def test_removed_shot_output_is_removed_but_foreign_files_stay(
    world: World, tmp_path: Path
) -> None:
    spec = four(tmp_path)
    world.build(spec)
    (tmp_path / "build" / "notes.txt").write_text("mine")
    smaller = spec.replace(shots=spec.shots[:3])
    result = world.build(smaller)
    assert result.removed == ["shot-3"]
    assert not (tmp_path / "build" / "shot-3.mp4").exists()
    assert (tmp_path / "build" / "notes.txt").read_text() == "mine"
    assert "shot-3" not in read_lock(spec.lock_path)
    # bringing it back costs nothing: the render stayed in the cache
    back = world.build(spec)
    assert back.restored == ["shot-3"] and world.fake.creates == 4


def test_foreign_file_at_an_output_path_is_not_overwritten(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "shot-0.mp4").write_bytes(b"someone else's video")
    result = world.build(spec, keep_going=True)
    assert [name for name, _ in result.failed] == ["shot-0"]
    assert "not written by shotbuild" in result.failed[0][1]
    assert (tmp_path / "build" / "shot-0.mp4").read_bytes() == b"someone else's video"


def test_429_bursts_and_5xx_still_one_job_per_shot(world: World, tmp_path: Path) -> None:
    world.fake.rate_limit_next = 7
    world.fake.server_error_next = 2
    result = world.build(four(tmp_path))
    assert result.exit_code == 0 and len(result.built) == 4
    assert world.fake.creates == 4


def test_failed_render_with_keep_going_then_only_it_is_resubmitted(
    world: World, tmp_path: Path
) -> None:
    spec = four(tmp_path)
    world.fake.fail_prompts.add("Prompt number 1.")
    result = world.build(spec, keep_going=True)
    assert result.exit_code == 1 and len(result.built) == 3
    assert result.failed[0][0] == "shot-1"
    assert "moderation_failed" in result.failed[0][1] and "refused" in result.failed[0][1]
    assert world.plan_statuses(spec)["shot-1"] == "failed last time"
    world.fake.fail_prompts.clear()
    again = world.build(spec)
    assert again.built == ["shot-1"] and world.fake.creates == 5
    keys = list(world.fake.by_idempotency_key)
    assert len(set(keys)) == 5  # a new attempt gets a new Idempotency-Key


def test_without_keep_going_a_failure_stops_new_submissions(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    world.fake.fail_prompts.add("Prompt number 0.")
    result = world.build(spec, jobs=1)
    assert result.exit_code == 1 and result.built == [] and len(result.skipped) == 3
    assert world.fake.creates == 1


def test_expired_video_url_is_refreshed(world: World, tmp_path: Path) -> None:
    world.fake.expire_next = 2
    result = world.build(four(tmp_path), jobs=1)
    assert result.exit_code == 0 and len(result.built) == 4 and world.fake.creates == 4


class Crash(BaseException):
    pass


@pytest.mark.parametrize("point", ["before-create", "after-create", "mid-download"])
def test_crash_at_any_point_then_rerun_pays_once(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    spec = four(tmp_path)

    def crash(name: str) -> None:
        if name == point:
            raise Crash(name)

    monkeypatch.setattr(build_module, "crash_point", crash)
    with pytest.raises(Crash):
        world.build(spec, jobs=1)
    statuses = world.plan_statuses(spec)
    assert IN_FLIGHT in statuses.values()
    monkeypatch.undo()
    result = world.build(spec)
    assert result.exit_code == 0
    assert sorted(read_lock(spec.lock_path)) == [s.name for s in spec.shots]
    assert world.fake.creates == 4
    assert not list((tmp_path / "build").glob(".*.tmp"))


def test_lost_create_answer_is_retried_with_the_same_idempotency_key(
    world: World, tmp_path: Path
) -> None:
    spec = make_spec(tmp_path, make_shot("only"))
    world.fake.server_error_next = 100  # the job starts but no answer ever arrives
    result = world.build(spec)
    assert result.exit_code == 1 and "same Idempotency-Key" in result.failed[0][1]
    plan = make_plan(spec, heygen_backend(world.fake, world.cache), world.cache)
    job = plan.items[0].job
    assert plan.items[0].status == IN_FLIGHT and job is not None and job.state == JOB_INTENT
    world.fake.server_error_next = 0
    assert world.build(spec).built == ["only"]
    assert world.fake.creates == 1
    assert set(world.fake.by_idempotency_key) == {job.idempotency_key}


def test_max_seconds_refuses_before_submitting(world: World, tmp_path: Path) -> None:
    with pytest.raises(ShotbuildError, match="over `max_seconds` 10") as refused:
        world.build(four(tmp_path), max_seconds=10)
    assert world.fake.create_requests == 0
    assert "--" not in str(refused.value)  # the Python API names its keywords, not CLI flags


def test_dry_run_says_what_it_would_do_and_does_nothing(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    world.build(spec, only=("shot-0",))
    (tmp_path / "build" / "shot-0.mp4").unlink()
    result = world.build(spec, dry_run=True)
    said = {would.name: would.what for would in result.dry_run}
    assert said["shot-0"].startswith("restore") and said["shot-1"].startswith("submit (5 s")
    assert world.fake.creates == 1 and not (tmp_path / "build" / "shot-0.mp4").exists()


def test_only_and_force(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    assert world.build(spec, only=("shot-3",)).built == ["shot-3"]
    assert world.plan_statuses(spec)["shot-0"] == NEW
    assert world.build(spec, force=("shot-3",), only=("shot-3",)).built == ["shot-3"]
    assert world.fake.creates == 2
    with pytest.raises(ShotbuildError, match="no shot named nope"):
        world.build(spec, only=("nope",))


def test_a_second_build_of_the_same_spec_is_refused_with_the_pid(
    world: World, tmp_path: Path
) -> None:
    spec = four(tmp_path)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Cache(tmp_path / "cache").spec_lock(spec.path):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        held.wait(10)
        with pytest.raises(BuildLocked, match=r"another shotbuild build is running .* \(pid \d+\)"):
            world.build(spec, lock_timeout=0.2)
    finally:
        release.set()
        thread.join()
    assert world.fake.create_requests == 0
    assert world.build(spec).exit_code == 0


def test_missing_key_stops_with_one_line(world: World, tmp_path: Path) -> None:
    from shotbuild.backends.heygen import HeyGenBackend

    backend = HeyGenBackend("https://api.fake-heygen.test", None, cache=world.cache)
    with pytest.raises(ShotbuildError, match=r"HEYGEN_API_KEY.*--backend preview"):
        build(four(tmp_path), backend, cache=world.cache)


def test_file_references_are_uploaded_once_and_the_key_never_written(
    world: World, tmp_path: Path
) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "a.png").write_bytes(b"\x89PNG fake image")
    ref = Reference(type="file", path="refs/a.png")
    spec = make_spec(
        tmp_path,
        make_shot("one", references=(ref,)),
        make_shot("two", "Another.", references=(ref,)),
    )
    assert world.build(spec, jobs=1).exit_code == 0
    assert world.fake.uploads == 1
    refs = world.fake.jobs["vid_1"].body["references"]
    assert refs == [{"type": "asset_id", "asset_id": "ast_1"}]
    world.cache.close()
    for path in [*tmp_path.rglob("*")]:
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_timeout_keeps_the_job_and_the_next_build_resumes_it(tmp_path: Path) -> None:
    fake = FakeHeyGen(polls_to_finish=400)
    cache = Cache(tmp_path / "cache")
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    spec = make_spec(tmp_path, make_shot("slow"))
    options = BuildOptions(timeout=600)
    result = build(
        spec, heygen_backend(fake, cache), options, cache=cache, sleep=sleep, clock=lambda: now[0]
    )
    assert result.exit_code == 1 and "stays recorded" in result.failed[0][1]
    assert sleeps[:2] == [2.0, pytest.approx(0.24)]  # shotbuild.polling: 0, 2 s, then x1.12
    assert sleeps[1:] == sorted(sleeps[1:]) and max(sleeps) == 30.0
    assert make_plan(spec, heygen_backend(fake, cache), cache).items[0].status == IN_FLIGHT
    fake.polls_to_finish = 0
    assert build(spec, heygen_backend(fake, cache), cache=cache, sleep=sleep).built == ["slow"]
    assert fake.creates == 1


def test_lock_and_cache_lost_but_outputs_there_costs_nothing(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    world.build(spec)
    lock = read_lock(spec.lock_path)
    spec.lock_path.unlink()
    shutil.rmtree(tmp_path / "cache")
    world.cache = Cache(tmp_path / "cache")
    assert set(world.plan_statuses(spec).values()) == {RESTORE}
    result = world.build(spec)
    assert sorted(result.restored) == sorted(lock) and world.fake.creates == 4
    assert world.fake.downloads == 4
    assert {n: e.sha256 for n, e in read_lock(spec.lock_path).items()} == {
        n: e.sha256 for n, e in lock.items()
    }


def test_a_rejected_create_starts_no_job_and_the_next_build_tries_a_new_key(
    world: World, tmp_path: Path
) -> None:
    spec = four(tmp_path)
    world.fake.reject_prompts.add("Prompt number 2.")
    result = world.build(spec, keep_going=True)
    assert [n for n, _ in result.failed] == ["shot-2"] and "create refused" in result.failed[0][1]
    assert world.plan_statuses(spec)["shot-2"] == "failed last time"
    world.fake.reject_prompts.clear()
    assert world.build(spec).built == ["shot-2"] and world.fake.creates == 4


def test_out_of_credit_stops_every_submission_even_with_keep_going(
    world: World, tmp_path: Path
) -> None:
    world.fake.no_credit = True
    with pytest.raises(ShotbuildError, match=r"^HeyGen: the account is out of credit \(402"):
        world.build(four(tmp_path), keep_going=True, jobs=1)  # the build's error, said once
    assert world.fake.create_requests == 1


def test_outputs_written_but_not_yet_recorded_are_adopted_by_content(
    world: World, tmp_path: Path
) -> None:
    spec = four(tmp_path)
    world.build(spec)
    (tmp_path / "build" / ".shotbuild-outputs.json").unlink()  # as if killed before saving it
    inode = (tmp_path / "build" / "shot-0.mp4").stat().st_ino
    result = world.build(spec)
    assert len(result.restored) == 4 and world.fake.creates == 4 and world.fake.downloads == 4
    assert (tmp_path / "build" / "shot-0.mp4").stat().st_ino == inode  # adopted, not copied
    assert set(world.plan_statuses(spec).values()) == {UP_TO_DATE}


def test_a_shared_remote_cache_serves_a_second_machine_without_a_render(tmp_path: Path) -> None:
    from shotbuild.store.remote import RemoteCache

    remote = RemoteCache.from_url(f"file://{tmp_path / 'shared'}", "readwrite")
    fake = FakeHeyGen()
    first, second = tmp_path / "alice", tmp_path / "bob"
    results = []
    for home in (first, second):
        home.mkdir()
        cache = Cache(home / "cache")
        results.append(
            build(
                four(home), heygen_backend(fake, cache), cache=cache, sleep=no_sleep, remote=remote
            )
        )
    assert len(results[0].built) == 4 and sorted(results[1].restored) == sorted(results[0].built)
    assert fake.creates == 4 and fake.downloads == 4
    assert read_lock(four(second).lock_path).keys() == read_lock(four(first).lock_path).keys()
    # the lock alone (no local blob) also prefers the remote cache to a download
    (second / "build" / "shot-0.mp4").unlink()
    shutil.rmtree(second / "cache")
    cache = Cache(second / "cache")
    again = build(
        four(second), heygen_backend(fake, cache), cache=cache, sleep=no_sleep, remote=remote
    )
    assert again.restored == ["shot-0"] and fake.downloads == 4


def test_a_broken_remote_cache_never_fails_a_build(world: World, tmp_path: Path) -> None:
    from shotbuild.store.remote import RemoteCache

    (tmp_path / "not-a-folder").write_text("x")
    remote = RemoteCache.from_url(f"file://{tmp_path / 'not-a-folder'}", "readwrite")
    backend = heygen_backend(world.fake, world.cache)
    result = build(four(tmp_path), backend, cache=world.cache, sleep=no_sleep, remote=remote)
    assert result.exit_code == 0 and len(result.built) == 4


def test_half_copied_outputs_of_a_killed_build_are_cleaned_up(world: World, tmp_path: Path) -> None:
    spec = four(tmp_path)
    world.build(spec)
    stale = tmp_path / "build" / ".shot-0.mp4.k2j3h4.tmp"
    foreign = tmp_path / "build" / ".notes.txt.tmp"
    stale.write_bytes(b"half")
    foreign.write_bytes(b"mine")
    world.build(spec)
    assert not stale.exists() and foreign.read_bytes() == b"mine"


def test_gc_keeps_jobs_in_flight_and_drops_old_temp_files(world: World, tmp_path: Path) -> None:
    import os

    from shotbuild.store.cache import JOB_SUBMITTED, JobRecord
    from shotbuild.store.gc import collect
    from shotbuild.store.lock import LockEntry

    cache = world.cache
    job = JobRecord("k" * 64, "s", "o", "idem", 1, JOB_SUBMITTED, video_id="vid_9")
    cache.put_job(job)
    cache.put_result(job.key, LockEntry(job.key, "vid_9", "f" * 64, 1, 4.0, "o", "t"))
    cache.put_result("d" * 64, LockEntry("d" * 64, "vid_8", "e" * 64, 1, 4.0, "o", "t"))
    old, new = cache.temp_file(), cache.temp_file()
    os.utime(old, (1, 1))
    report = collect(cache)
    assert report.results == 1 and cache.job(job.key) is not None
    assert cache.result(job.key) is not None and cache.result("d" * 64) is None
    assert not old.exists() and new.exists()


def test_a_video_the_api_forgot_is_reported_and_can_be_forced_again(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_spec(tmp_path, make_shot("one"), make_shot("two", "Second."))
    world.build(spec)
    del world.fake.jobs["vid_1"]
    (tmp_path / "build" / "one.mp4").unlink()
    shutil.rmtree(tmp_path / "cache")
    world.cache = Cache(tmp_path / "cache")
    result = world.build(spec)
    assert "`rerender_missing=True` renders it again" in result.failed[0][1]
    assert "--" not in result.failed[0][1]  # no CLI flag to a Python API user
    assert world.build(spec, force=("one",), only=("one",)).built == ["one"]
    # a job in flight that the API no longer knows is submitted again next time
    shots = (make_shot("one", "Changed."), spec.shots[1])
    changed = spec.replace(shots=shots)

    def crash(name: str) -> None:
        if name == "mid-download":  # the video_id is recorded by then
            raise Crash(name)

    monkeypatch.setattr(build_module, "crash_point", crash)
    with pytest.raises(Crash):
        world.build(changed)
    monkeypatch.undo()
    world.fake.jobs.clear()
    world.fake.by_idempotency_key.clear()
    failed = world.build(changed)
    assert "unknown to the API" in failed.failed[0][1]
    assert world.build(changed).built == ["one"]


def test_a_file_system_error_fails_the_shot_not_the_program(world: World, tmp_path: Path) -> None:
    (tmp_path / "build" / "shot-0.mp4").mkdir(parents=True)  # a folder where the output goes
    result = world.build(four(tmp_path), keep_going=True)
    assert [name for name, _ in result.failed] == ["shot-0"]
    assert "shot-0.mp4: Is a directory" in result.failed[0][1]
    assert len(result.built) == 3


def test_seconds_paid_for_add_up_when_shots_finish_interleaved(tmp_path: Path) -> None:
    import asyncio

    async def yielding_sleep(seconds: float) -> None:
        await asyncio.sleep(0)  # lets the other shots' polls run in between

    world = World(tmp_path)
    world.fake.polls_to_finish = 3
    spec = four(tmp_path)
    backend = heygen_backend(world.fake, world.cache)
    result = build(spec, backend, BuildOptions(jobs=4), cache=world.cache, sleep=yielding_sleep)
    assert sorted(result.built) == [f"shot-{i}" for i in range(4)]
    assert result.seconds == 4 + 5 + 6 + 7


def test_a_new_jobs_attempt_follows_the_record_when_its_intent_is_written(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's job on record is read in the transaction that writes the intent:
    a job recorded after the plan (another spec's build sharing the cache, its render
    failed) makes this one its next attempt, with a new Idempotency-Key."""
    from shotbuild.backends.heygen import HeyGenBackend
    from shotbuild.store.cache import JOB_FAILED, JobRecord

    spec = make_spec(tmp_path, make_shot("solo", "A prompt of its own."))
    key = make_plan(spec, heygen_backend(world.fake, world.cache), world.cache).items[0].key
    prepare = HeyGenBackend.prepare

    async def prepare_then_a_record_lands(self: HeyGenBackend, *args: object) -> object:
        failed = JobRecord(key, "solo", "elsewhere", "idem-1", 1, JOB_FAILED)
        with world.cache.writing():
            world.cache.put_job(failed)
        return await prepare(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(HeyGenBackend, "prepare", prepare_then_a_record_lands)
    result = world.build(spec)
    assert result.built == ["solo"] and world.fake.creates == 1
    job = world.cache.job(key)
    assert job is not None and job.attempt == 2
    assert list(world.fake.by_idempotency_key) == [job.idempotency_key] != ["idem-1"]
