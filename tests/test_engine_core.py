"""The engine's core pieces on their own: the one request builder and the key
derived from it, the planner (a value; it writes nothing), and the recorder."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import make_shot, make_spec

from shotbuild.backends.preview import PreviewBackend
from shotbuild.build.record import Recorder, Target, entry_of
from shotbuild.build.shared import Shared
from shotbuild.keys import key_of, request_of, sha256_file
from shotbuild.plan import (
    CHANGED,
    COSMETIC,
    NEW,
    REMOVED,
    RESTORE,
    UP_TO_DATE,
    Removed,
    Render,
    Restore,
    Settled,
    ShotItem,
    make_plan,
)
from shotbuild.progress import NullReporter
from shotbuild.reasons import Change, Code, Reason, words
from shotbuild.request import (
    COSMETIC_FIELDS,
    KEYED_FIELDS,
    REFERENCE_IDENTITY_FIELDS,
    REFERENCE_STRUCTURAL_FIELDS,
    STRUCTURAL_FIELDS,
    body_of,
    keyed_request,
)
from shotbuild.spec.model import Reference, Shot
from shotbuild.store.cache import Cache
from shotbuild.store.lock import LockFile, read_lock
from shotbuild.store.outputs import Manifest
from shotbuild.store.records import paid_records

# -- the request builder and the key ---------------------------------------------------


def test_every_shot_field_is_keyed_cosmetic_or_structural() -> None:
    declared = [set(KEYED_FIELDS), set(COSMETIC_FIELDS), set(STRUCTURAL_FIELDS)]
    for field in Shot.FIELDS:
        homes = [group for group in declared if field in group]
        assert len(homes) == 1, f"Shot.{field}: declare it keyed, cosmetic or structural"
    names = set(Shot.FIELDS)
    assert set().union(*declared) == names  # nothing declared that is not a field


def test_every_reference_field_is_part_of_its_identity_or_structural() -> None:
    names = set(Reference.FIELDS)
    assert names == REFERENCE_IDENTITY_FIELDS | REFERENCE_STRUCTURAL_FIELDS
    assert not REFERENCE_IDENTITY_FIELDS & REFERENCE_STRUCTURAL_FIELDS


CHANGED_VALUES: dict[str, Any] = {
    "api_type": "studio",  # not one of the two Avatar Shots names (those share a key)
    "prompt": "Something else entirely.",
    "avatar_id": ("look_other",),
    "references": (Reference(type="url", url="https://cdn.example.com/x.png"),),
    "aspect_ratio": "9:16",
    "resolution": "1080p",
    "auto_duration": True,
    "enhance_prompt": True,
    "duration": 7,
    "title": "A title",
    "callback_url": "https://hooks.example.com/x",
}


def _key(shot: Shot, root: Path) -> str:
    return key_of("https://api.heygen.com", request_of(shot, root, sha256_file))


@pytest.mark.parametrize("field", sorted(CHANGED_VALUES))
def test_a_keyed_field_moves_the_key_and_a_cosmetic_one_only_the_body(
    field: str, tmp_path: Path
) -> None:
    assert set(CHANGED_VALUES) == set(KEYED_FIELDS) | set(COSMETIC_FIELDS)
    shot = make_shot("s", duration=6)
    other = shot.replace(**{field: CHANGED_VALUES[field]})
    moved = _key(shot, tmp_path) != _key(other, tmp_path)
    assert moved == (field in KEYED_FIELDS), field
    assert body_of(shot, []) != body_of(other, [dict(type="url", url="x")] * len(other.references))


def test_the_key_request_is_the_sent_body_with_identities_and_no_cosmetics(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.png").write_bytes(b"png bytes")
    ref = Reference(type="file", path="a.png")
    shot = make_shot("s", references=(ref,), title="T", callback_url="https://h.example/x")
    sent = body_of(shot, [{"type": "asset_id", "asset_id": "ast_1"}])
    assert sent["title"] == "T" and sent["references"] == [
        {"type": "asset_id", "asset_id": "ast_1"}
    ]
    request = request_of(shot, tmp_path, sha256_file)
    sha = hashlib.sha256(b"png bytes").hexdigest()
    expected = {k: v for k, v in sent.items() if k not in ("title", "callback_url")}
    # `type` is spelled as keys spell it: both Avatar Shots names are "avatar_shots"
    assert sent["type"] == "cinematic_avatar" and request["type"] == "avatar_shots"
    expected["type"] = "avatar_shots"
    assert request == {**expected, "references": [{"sha256": sha}], "auto_duration": False}
    assert keyed_request(body_of(shot, [{"sha256": sha}])) == request


def test_the_preview_renders_the_normalised_request(tmp_path: Path) -> None:
    shot = make_shot("s", prompt="  Hello there.  ", auto_duration=True, duration=None)
    request = request_of(shot, tmp_path, sha256_file)
    _, (fields, _out) = PreviewBackend().render_call(shot, request, tmp_path, tmp_path / "o.mp4")
    assert fields[1:6] == ("Hello there.", ("look_founder",), "16:9", "720p", 10.0)


# -- the planner ------------------------------------------------------------------------


def test_planning_on_an_empty_cache_folder_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"png")
    spec = make_spec(tmp_path, make_shot("s", references=(Reference(type="file", path="a.png"),)))
    cache = Cache(tmp_path / "cache")
    before = sorted(tmp_path.rglob("*"))
    plan = make_plan(spec, PreviewBackend(cache), cache)
    assert [i.status for i in plan.items] == [NEW]
    assert sorted(tmp_path.rglob("*")) == before  # no cache database, no build folder
    assert list(plan.hashed) == [str((tmp_path / "a.png").resolve())]  # a build saves these


def test_plan_reasons_are_data_turned_into_words_at_the_edge(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    backend = PreviewBackend(cache)
    spec = make_spec(tmp_path, make_shot("s", prompt="One."))
    pytest.importorskip("av")
    from shotbuild.build import build

    assert build(spec, backend, cache=cache).built == ["s"]
    edited = make_spec(tmp_path, make_shot("s", prompt="Two.", title="New title"))
    [item] = make_plan(edited, backend, cache).items
    assert isinstance(item, Render) and item.status == CHANGED and not item.forced
    assert item.why.code == Code.FIELDS_CHANGED
    assert item.why.changes == (Change("prompt", "One.", "Two."),)
    assert item.reason == words(item.why) == "prompt changed"
    retitled = make_spec(tmp_path, make_shot("s", prompt="One.", title="New title"))
    [cosmetic] = make_plan(retitled, backend, cache).items
    assert isinstance(cosmetic, Settled) and cosmetic.status == COSMETIC
    assert cosmetic.why.changes == (Change("title", None, "New title"),)
    assert cosmetic.reason == "title changed: no render"
    [same] = make_plan(spec, backend, cache).items
    assert same.status == UP_TO_DATE and same.why.code == Code.MATCHES
    (tmp_path / "build" / "preview" / "s.mp4").unlink()
    [gone] = make_plan(spec, backend, cache).items
    assert isinstance(gone, Restore) and gone.source == "cache" and gone.result.key == gone.key
    assert gone.status == RESTORE and gone.reason == "output missing: copy from the local cache"
    cache.close()


# -- the recorder -----------------------------------------------------------------------


def test_the_recorder_makes_a_render_permanent_in_every_store(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    spec = make_spec(tmp_path, make_shot("s", title="T"))
    data = b"an mp4, more or less"
    blob = cache.put_blob_bytes(data)
    sha = sha256_file(blob)
    manifest = Manifest(tmp_path / "build")
    target = Target("heygen", "https://api.heygen.com", "", locked=True)
    recorder = Recorder(
        spec, target, LockFile(), manifest, cache, Shared(None, cache, NullReporter())
    )
    item = make_plan(spec, _Heygenish(), cache).items[0]
    assert isinstance(item, Render) and isinstance(item, ShotItem)
    entry = entry_of(item.key, "vid_1", sha, len(data), 4.0, target.identity)
    asyncio.run(recorder.record(item, entry))
    manifest.flush()
    assert (tmp_path / "build" / "s.mp4").read_bytes() == data
    assert read_lock(spec.lock_path) == {"s": entry}
    assert cache.result(entry.key) == entry and cache.request(entry.key) == item.request
    assert [r.video_id for r in paid_records(cache, entry.key)] == ["vid_1"]  # kept for good
    owned = Manifest(tmp_path / "build").get("s.mp4")
    assert owned is not None and owned.key == entry.key and owned.title == "T"
    removed = Removed(name="s", status=REMOVED, why=Reason(Code.LEFT_SPEC_LOCK), output=item.output)
    recorder.remove(removed)
    recorder.flush()  # the lock is written at most once a second until flushed
    assert not (tmp_path / "build" / "s.mp4").exists() and read_lock(spec.lock_path) == {}
    cache.close()


class _Heygenish:
    """A remote backend with no API behind it (the recorder never asks it)."""

    name = "heygen"
    identity = "https://api.heygen.com"
    subdir = ""

    def check_ready(self) -> None:
        pass

    def worker(self) -> Any:
        from shotbuild.backends.heygen import HeyGenBackend

        return HeyGenBackend(self.identity).worker()


# -- the planner and a forced render ------------------------------------------------


class _Crash(Exception):
    pass


def test_a_forced_take_killed_after_its_create_is_planned_as_resume_then_settles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--force` is reroll + pick: the forced render is take 2 of the shot's inputs,
    picked; take 1 stays on record. Killed after its create, the next `--force`
    resumes take 2's job (no second create); once it is settled, a new force is a new
    job (take 3)."""
    from engine_fakes import FakeHeyGen, heygen_backend

    from shotbuild.build import BuildOptions, build, crash
    from shotbuild.build.reroll import with_new_takes
    from shotbuild.plan import IN_FLIGHT, Resume
    from shotbuild.store.lock import read_lock_file
    from shotbuild.takes import take_key

    async def no_sleep(seconds: float) -> None:
        return None

    fake, cache = FakeHeyGen(), Cache(tmp_path / "cache")
    spec = make_spec(tmp_path, make_shot("one"), make_shot("two", "Second."))

    def run(**options: Any) -> Any:
        backend = heygen_backend(fake, cache)
        return build(spec, backend, BuildOptions(**options), cache=cache, sleep=no_sleep)

    def plan(force: tuple[str, ...] = ()) -> Any:
        backend = heygen_backend(fake, cache)
        planned = make_plan(spec, backend, cache, force=force)
        return with_new_takes(planned, cache, backend.identity, reroll=(), pick=False, force=force)

    assert run().exit_code == 0 and fake.creates == 2
    first = read_lock_file(spec.lock_path).shots["one"].takes[1]

    def crash_after_create(name: str) -> None:
        if name == "after-create":
            raise _Crash(name)

    monkeypatch.setattr(crash, "crash_point", crash_after_create)
    with pytest.raises(_Crash):
        run(force=("one",))
    monkeypatch.undo()
    assert fake.creates == 3
    unforced = plan()  # a plain build: take 1 is still the output
    assert [i.status for i in unforced.items] == [UP_TO_DATE, UP_TO_DATE]
    shot_key = unforced.items[0].key
    job = cache.job(take_key(shot_key, 2))  # take 2's intent, its create sent, unanswered
    assert job is not None and job.video_id is None and len(fake.jobs) == 3
    [one, two] = plan(force=("one",)).items
    assert isinstance(one, Resume) and one.status == IN_FLIGHT and one.take == 2
    assert one.job.key == take_key(shot_key, 2) and one.as_pick
    assert one.why.code == Code.FORCED_RESUMED and two.status == UP_TO_DATE
    assert run(force=("one",)).built == ["one"] and fake.creates == 3  # resumed, not paid again
    shot = read_lock_file(spec.lock_path).shots["one"]
    assert shot.numbers == [1, 2] and shot.pick == 2 and shot.takes[1] == first
    assert shot.takes[2].video_id == "vid_3"  # the job the killed force created
    assert [i.status for i in plan().items] == [UP_TO_DATE, UP_TO_DATE]
    assert plan().orphans == ()
    assert run(force=("one",)).built == ["one"] and fake.creates == 4  # a new force is a new job
    shot = read_lock_file(spec.lock_path).shots["one"]
    assert shot.numbers == [1, 2, 3] and shot.pick == 3
    cache.close()
