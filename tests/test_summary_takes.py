"""The build summary counts each shot once: a shot whose take 1 is up to date (or
restored) and whose other take failed is failed, with the take named in the failure."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine_fakes import World, make_shot, make_spec

from shotbuild.progress import summary_lines
from shotbuild.spec.model import Spec


def _two_takes_after_one(tmp_path: Path) -> tuple[World, Spec]:
    world = World(tmp_path)
    spec = make_spec(tmp_path, make_shot("a"), make_shot("b", prompt="A desk."))
    assert sorted(world.build(spec).built) == ["a", "b"]
    more = spec.replace(shots=(make_shot("a", takes=2), spec.shots[1]))
    world.fail_take(more, "a", 2)
    return world, more


def test_a_shot_whose_take_2_failed_is_failed_not_also_up_to_date(tmp_path: Path) -> None:
    world, spec = _two_takes_after_one(tmp_path)
    result = world.build(spec, keep_going=True)
    assert world.fake.creates == 3  # take 2 was submitted, and failed
    assert summary_lines(result) == [
        "shotbuild: 0 built, 0 restored, 1 up to date, 1 failed (a);"
        " 0 seconds of video; paid this run: 1 render, $7.00"
    ]
    doc = result.to_json()
    assert doc["up_to_date"] == ["b"]
    assert [f["name"] for f in doc["failed"]] == ["a"]
    assert doc["failed"][0]["message"].startswith("take 2: ")
    assert "a" in result.done  # its output (take 1) is in place: its cuts use it


def test_a_shot_restored_whose_take_2_failed_is_failed_not_also_restored(tmp_path: Path) -> None:
    world, spec = _two_takes_after_one(tmp_path)
    shutil.rmtree(tmp_path / "build")  # take 1 comes back from the cache
    result = world.build(spec, keep_going=True)
    assert summary_lines(result)[0].startswith(
        "shotbuild: 0 built, 1 restored, 0 up to date, 1 failed (a);"
    )
    assert result.restored == ["b"] and [name for name, _ in result.failed] == ["a"]
