"""`takes: N` in the engine (a stateful fake behind MockTransport): which take is
the pick when take 1 fails, a take another machine made, and the preview backend."""

from __future__ import annotations

from pathlib import Path

from engine_fakes import World, heygen_backend, make_shot, make_spec, video_bytes

from shotbuild.backends.preview import PreviewBackend
from shotbuild.build import build
from shotbuild.plan import make_plan
from shotbuild.progress import LineReporter
from shotbuild.report.takes import takes_words
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock_file
from shotbuild.takes import idempotency_key, take_key


def test_when_take_1_fails_the_first_take_that_finishes_is_the_pick(tmp_path: Path) -> None:
    world = World(tmp_path)
    spec = make_spec(tmp_path, make_shot("a", takes=3))
    key = make_plan(spec, heygen_backend(world.fake, world.cache), world.cache).items[0].key
    world.fake.fail_keys.add(idempotency_key(key, 1))  # take 1's job fails
    result = world.build(spec, keep_going=True)
    assert result.failed and world.fake.creates == 3
    assert result.failed[0][0] == "a" and "render" in result.failed[0][1]
    shot = read_lock_file(spec.lock_path).shots["a"]
    assert shot.numbers == [2, 3] and shot.pick in (2, 3)
    output = tmp_path / "build" / "a.mp4"
    assert output.read_bytes() == video_bytes(shot.picked.video_id)  # output = pick

    world.fake.fail_keys.clear()
    again = world.build(spec)  # take 1 again (its second attempt), the pick stays
    assert not again.failed and world.fake.creates == 4
    after = read_lock_file(spec.lock_path).shots["a"]
    assert after.numbers == [1, 2, 3] and after.pick == shot.pick
    assert output.read_bytes() == video_bytes(after.picked.video_id)
    assert world.build(spec).up_to_date == ["a"] and world.fake.creates == 4


def test_a_lowered_takes_keeps_every_take_and_a_reroll_takes_the_next_number(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    spec = make_spec(tmp_path, make_shot("a", takes=2))
    world.build(spec)
    lowered = spec.replace(shots=(make_shot("a", takes=1),))
    assert world.build(lowered).up_to_date == ["a"] and world.fake.creates == 2
    rerolled = world.build(lowered, only=("a",), reroll=("a",))
    assert rerolled.built == ["a"] and world.fake.creates == 3
    shot = read_lock_file(spec.lock_path).shots["a"]
    assert shot.numbers == [1, 2, 3] and shot.takes[3].key == take_key(shot.key, 3)


def test_a_reroll_renders_one_take_whatever_takes_asks(tmp_path: Path) -> None:
    world = World(tmp_path)
    spec = make_spec(tmp_path, make_shot("a"))
    world.build(spec)
    more = spec.replace(shots=(make_shot("a", takes=3),))
    world.build(more, only=("a",), reroll=("a",))
    assert world.fake.creates == 2  # the reroll's take 2, not takes 2 and 3 besides
    world.build(more)
    assert world.fake.creates == 3
    assert read_lock_file(spec.lock_path).shots["a"].numbers == [1, 2, 3]


def test_a_preview_renders_one_animatic_per_shot_and_says_so(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, make_shot("a", takes=3, duration=4))
    cache = Cache(tmp_path / "cache")
    plan = make_plan(spec, PreviewBackend(cache), cache)
    assert plan.extra == () and plan.renders == 1 and plan.cost is None  # one animatic
    assert "a preview renders one per shot" in takes_words(plan, plan.items[0])
    assert plan.to_json()["shots"][0]["takes_wanted"] == 3
    log = tmp_path / "log.txt"
    with log.open("w") as stream:
        result = build(spec, PreviewBackend(cache), cache=cache, reporter=LineReporter(stream))
    assert result.built == ["a"] and not spec.lock_path.exists()
    assert "the takes of a (takes: N) are rendered by a paid build" in log.read_text()
    assert (tmp_path / "build" / "preview" / "a.mp4").is_file()
