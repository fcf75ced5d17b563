"""Paid-render records: kept for good, found by key, listed per shot with history;
`gc` drops bytes that can be fetched again, never a record, unless told to."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from engine_fakes import World, heygen_backend, make_shot, make_spec, video_bytes

from shotbuild import cli
from shotbuild.plan import CHANGED, make_plan
from shotbuild.store.cache import Cache
from shotbuild.store.gc import collect
from shotbuild.store.lock import LockEntry, read_lock
from shotbuild.store.records import (
    PaidRender,
    all_paid,
    latest_paid,
    paid_records,
    record_paid,
    shot_history,
    take_numbers,
    takes_on_record,
)
from shotbuild.takes import take_key

INPUTS = "c" * 64


def render(take: int, video_id: str, inputs: str = INPUTS, shot: str = "intro") -> PaidRender:
    entry = LockEntry(
        take_key(inputs, take),
        video_id,
        hashlib.sha256(video_id.encode()).hexdigest(),
        1000,
        4.0,
        "https://api.heygen.com",
        "2026-12-01T09:30:00Z",
    )
    request = {"prompt": f"A founder, take {take}", "duration": 4}
    return PaidRender.of(entry, inputs_key=inputs, take=take, shot=shot, request=request)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    with Cache(tmp_path / "cache") as c:
        yield c


def test_records_are_found_by_key_and_listed_per_inputs(cache: Cache) -> None:
    for take, video in ((1, "v1"), (2, "v2"), (3, "v3")):
        record_paid(cache, render(take, video))
    assert [r.video_id for r in paid_records(cache, take_key(INPUTS, 2))] == ["v2"]
    found = takes_on_record(cache, INPUTS)
    assert found is not None and sorted(found.takes) == [1, 2, 3]
    assert found.request == {"prompt": "A founder, take 1", "duration": 4}
    shot = found.shot_takes(pick=2)
    assert shot.key == INPUTS and shot.picked.video_id == "v2"
    assert takes_on_record(cache, "e" * 64) is None


def test_recording_again_is_harmless_and_a_second_render_of_a_key_is_kept(cache: Cache) -> None:
    record_paid(cache, render(1, "v1"))
    record_paid(cache, render(1, "v1"))
    assert len(paid_records(cache, INPUTS)) == 1
    record_paid(cache, render(1, "v1-again"))  # e.g. a render the API had lost
    assert [r.video_id for r in paid_records(cache, INPUTS)] == ["v1", "v1-again"]
    assert latest_paid(cache, INPUTS) == render(1, "v1-again")


def test_a_shot_history_lists_every_version_of_its_inputs(cache: Cache) -> None:
    record_paid(cache, render(1, "old", inputs="a" * 64))
    record_paid(cache, render(1, "new", inputs="b" * 64))
    record_paid(cache, render(2, "new2", inputs="b" * 64))
    record_paid(cache, render(1, "elsewhere", inputs="d" * 64, shot="outro"))
    history = shot_history(cache, "intro")
    assert [h.inputs_key[0] for h in history] == ["a", "b"]
    assert [sorted(h.takes) for h in history] == [[1], [1, 2]]


def test_a_record_must_be_of_the_take_it_says(cache: Cache) -> None:
    entry = render(2, "v2").lock_entry()
    with pytest.raises(ValueError, match="is not the key of take 3"):
        PaidRender.of(entry, inputs_key=INPUTS, take=3, shot="intro")


# -- gc and the engine of today ------------------------------------------------------


def gc_world(folder: Path) -> World:
    """A World whose folder holds the spec file gc looks for."""
    (folder / "shots.yaml").write_text("# the spec file gc looks for\n")
    return World(folder)


def test_back_to_an_earlier_prompt_after_gc_costs_no_create(tmp_path: Path) -> None:
    world = gc_world(tmp_path)
    first = make_spec(tmp_path, make_shot("hero", "The first prompt."))
    world.build(first)
    original = read_lock(first.lock_path)["hero"]
    world.build(make_spec(tmp_path, make_shot("hero", "A second prompt.")))
    assert world.fake.creates == 2
    report = collect(world.cache)
    assert report.blobs == 1 and report.results == 0  # the first render's bytes only
    # the engine recorded both paid renders as it made them: gc has nothing to adopt
    assert report.paid == 2 and report.paid_refetchable == 1 and report.adopted == 0
    assert not world.cache.has_blob(original.sha256)
    assert [r.video_id for r in paid_records(world.cache, original.key)] == [original.video_id]
    world.build(first)
    assert world.fake.creates == 2  # downloaded again by video_id, not rendered
    assert (tmp_path / "build" / "hero.mp4").read_bytes() == video_bytes(original.video_id)
    assert collect(world.cache).adopted == 0  # on record already


def test_gc_never_records_previews_or_junk(cache: Cache) -> None:
    cache.put_result("d" * 64, LockEntry("d" * 64, "vid_8", "e" * 64, 1, 4.0, "preview", "t"))
    report = collect(cache)
    assert report.adopted == 0 and report.results == 1 and cache.result("d" * 64) is None


def test_drop_paid_records_forgets_only_what_no_lock_refers_to(tmp_path: Path) -> None:
    world = gc_world(tmp_path)
    first = make_spec(tmp_path, make_shot("hero", "The first prompt."))
    world.build(first)
    world.build(make_spec(tmp_path, make_shot("hero", "A second prompt.")))
    dry = collect(world.cache, dry_run=True, drop_paid_records=True)
    assert dry.forgotten == 1 and dry.paid == 1 and len(list(all_paid(world.cache))) == 2
    report = collect(world.cache, drop_paid_records=True)
    assert report.forgotten == 1 and report.paid == 1
    assert [r.shot for r in all_paid(world.cache)] == ["hero"]
    plan = make_plan(first, heygen_backend(world.fake, world.cache), world.cache)
    assert [i.status for i in plan.items] == [CHANGED]  # forgotten: the way back is a new render


def test_gc_command_keeps_records_and_asks_before_forgetting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHOTBUILD_CACHE_DIR", str(tmp_path / "cache"))
    world = gc_world(tmp_path)
    world.build(make_spec(tmp_path, make_shot("hero", "The first prompt.")))
    world.build(make_spec(tmp_path, make_shot("hero", "A second prompt.")))
    world.cache.close()
    assert cli.main(["gc"]) == 0
    err = capsys.readouterr().err
    assert "dropped 0 results and 1 renders" in err
    assert "the records of 2 paid renders (1 without bytes here" in err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("click.confirm", lambda *a, **k: False)
    assert cli.main(["gc", "--drop-paid-records"]) == 1
    assert "nothing dropped" in capsys.readouterr().err
    monkeypatch.setattr("click.confirm", lambda *a, **k: True)
    assert cli.main(["gc", "--drop-paid-records"]) == 0
    assert "dropped the records of 1 paid renders" in capsys.readouterr().err


def test_job_record_is_stored_as_asdict_gave_it(tmp_path: Path) -> None:
    """A job record's stored value is what `dataclasses.asdict` made of it when it was
    a dataclass (same keys, same order, same values), every field set, so its pickled
    bytes do not change."""
    import pickle

    from shotbuild.store.cache import JOB_FAILED, JobRecord

    job = JobRecord(
        "k" * 64, "intro", "https://api.heygen.com", "idem-1", 2, JOB_FAILED,
        "vid-1", 1700000000.5, "bad_input", "no avatar",
    )  # fmt: skip
    asdict_gave = {
        "key": "k" * 64, "shot": "intro", "origin": "https://api.heygen.com",
        "idempotency_key": "idem-1", "attempt": 2, "state": JOB_FAILED, "video_id": "vid-1",
        "submitted_at": 1700000000.5, "failure_code": "bad_input", "failure_message": "no avatar",
    }  # fmt: skip
    assert list(job.to_json().items()) == list(asdict_gave.items())
    with Cache(tmp_path / "cache") as cache:
        cache.put_job(job)
        assert cache.job(job.key) == job
        stored = cache.index.get(f"job:{job.key}")
    assert pickle.dumps(stored) == pickle.dumps(asdict_gave)


def test_take_1_is_found_by_its_own_record_not_listed(cache: Cache) -> None:
    record_paid(cache, render(1, "v1"))
    assert cache.index.get(f"paid-inputs:{INPUTS}") is None  # one row less a first build
    assert take_numbers(cache, INPUTS) == [1]
    record_paid(cache, render(3, "v3"))
    assert cache.index.get(f"paid-inputs:{INPUTS}") == [3]
    found = takes_on_record(cache, INPUTS)
    assert found is not None and sorted(found.takes) == [1, 3]
    assert take_numbers(cache, INPUTS) == [1, 3]
    assert take_numbers(cache, "e" * 64, known=1) == [1]
    assert take_numbers(cache, "e" * 64) == []


def test_records_written_the_way_earlier_versions_did_read_the_same(cache: Cache) -> None:
    """Earlier versions listed take 1 under its inputs too (rows as they wrote them)."""
    old = [render(n, f"v{n}") for n in (1, 2)]
    for r in old:
        cache.index.set(f"paid:{r.key}", [r.to_json()])
    cache.index.set(f"paid-inputs:{INPUTS}", [1, 2])
    cache.index.set("paid-shot:intro", [INPUTS])
    assert take_numbers(cache, INPUTS) == [1, 2]
    record_paid(cache, render(3, "v3"))
    assert cache.index.get(f"paid-inputs:{INPUTS}") == [1, 2, 3]
    found = takes_on_record(cache, INPUTS)
    assert found is not None and [found.takes[n] for n in (1, 2)] == old
    assert [sorted(h.takes) for h in shot_history(cache, "intro")] == [[1, 2, 3]]
