"""Takes in the engine: the Recorder keeps every take of a shot and records every
paid render; pick and reroll go through it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine_fakes import FakeHeyGen, World, heygen_backend, make_shot, make_spec

from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache, JobRecord
from shotbuild.store.lock import LockEntry, read_lock_file, write_lock_file
from shotbuild.store.records import paid_records
from shotbuild.takes import take_key


def _second_take(spec: Spec, name: str) -> LockEntry:
    """Give the shot a take 2 in its lock (as a reroll on another machine would)."""
    lock = read_lock_file(spec.lock_path)
    shot = lock.shots[name]
    data = b"take two"
    entry = LockEntry(
        take_key(shot.key, 2),
        "vid_other",
        hashlib.sha256(data).hexdigest(),
        len(data),
        4.0,
        shot.picked.origin,
        "2026-01-01T00:00:00Z",
    )
    write_lock_file(spec.lock_path, lock.with_shot(name, shot.with_take(2, entry)))
    return entry


def test_a_rebuild_keeps_every_take_of_the_lock(tmp_path: Path) -> None:
    world = World(tmp_path)
    spec = make_spec(tmp_path, make_shot("a"), make_shot("b", "Another prompt."))
    world.build(spec)
    second = _second_take(spec, "a")
    (tmp_path / "build" / "a.mp4").unlink()  # the rebuild records take 1 again
    result = world.build(spec)
    assert result.restored == ["a"] and world.fake.creates == 2
    shot = read_lock_file(spec.lock_path).shots["a"]
    assert shot.numbers == [1, 2] and shot.pick == 1 and shot.takes[2] == second


def test_every_paid_render_is_on_record(tmp_path: Path) -> None:
    world = World(tmp_path)
    spec = make_spec(tmp_path, make_shot("a"))
    world.build(spec)
    entry = read_lock_file(spec.lock_path).shots["a"].picked
    records = paid_records(world.cache, entry.key)
    assert [(r.video_id, r.take, r.shot) for r in records] == [(entry.video_id, 1, "a")]
    assert records[0].request["prompt"] == "A founder walks through an office."


class _Records:
    """plan.TakeRecords with one job on record (or none)."""

    def __init__(self, job: JobRecord | None = None) -> None:
        self._job = job

    def result(self, key: str) -> LockEntry | None:
        return None

    def has_blob(self, sha256: str, size: int) -> bool:
        return False

    def job(self, key: str) -> JobRecord | None:
        return self._job


def test_a_forced_take_is_a_changed_render_or_a_forced_resume(tmp_path: Path) -> None:
    """take_item's `forced` (build --force): the one place its rule lives."""
    from shotbuild.plan import CHANGED, NEW, Render, Resume, ShotItem, make_plan, take_item
    from shotbuild.reasons import Code, Reason
    from shotbuild.store.cache import JOB_SUBMITTED

    cache = Cache(tmp_path / "cache")
    spec = make_spec(tmp_path, make_shot("one"))
    [item] = make_plan(spec, heygen_backend(FakeHeyGen(), cache), cache).items
    assert isinstance(item, ShotItem)
    why = Reason(Code.REROLL, facts={"take": "2", "picked": "yes"})
    plain = take_item(item, 2, _Records(), why, seconds=4.0)
    forced = take_item(item, 2, _Records(), why, seconds=4.0, forced=True)
    assert isinstance(plain, Render) and isinstance(forced, Render)
    assert (plain.status, forced.status) == (NEW, CHANGED)
    assert forced.why == why and forced.take == 2 and forced.job_key == take_key(item.key, 2)
    job = JobRecord(take_key(item.key, 2), "one", "o", "i", 1, JOB_SUBMITTED, video_id="v1")
    resumed = take_item(item, 2, _Records(job), why, seconds=4.0)
    forced_resume = take_item(item, 2, _Records(job), why, seconds=4.0, forced=True)
    assert isinstance(resumed, Resume) and isinstance(forced_resume, Resume)
    assert resumed.why == Reason(Code.SUBMITTED, facts={"video_id": "v1"})
    assert forced_resume.why == Reason(Code.FORCED_RESUMED, facts={"video_id": "v1"})
