"""shots.lock format 2: layout, format 1 compatibility, and a strict reader that turns
every hostile lock into one LockError line naming the file."""

from __future__ import annotations

import hashlib
import json
import os
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild.store.lock import (
    LockEntry,
    LockError,
    LockFile,
    ShotTakes,
    dumps_lock,
    dumps_lock_file,
    loads_lock,
    loads_lock_file,
    read_lock,
    read_lock_file,
    write_lock,
    write_lock_file,
)
from shotbuild.takes import take_key

DATA = Path(__file__).parent / "data"
KEY = "a" * 64


def entry(key: str = KEY, video_id: str = "v1") -> LockEntry:
    return LockEntry(
        key=key,
        video_id=video_id,
        sha256=hashlib.sha256(video_id.encode()).hexdigest(),
        size=1234,
        duration=10.0,
        origin="https://api.heygen.com",
        built_at="2026-11-23T20:00:00Z",
    )


def three_takes(pick: int = 2) -> ShotTakes:
    return ShotTakes(KEY, {n: entry(take_key(KEY, n), f"v{n}") for n in (1, 2, 3)}, pick)


def test_round_trip_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "shots.lock"
    entries = {"b-shot": entry(video_id="vb"), "a-shot": entry(video_id="va")}
    write_lock(path, entries)
    text = path.read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.index('"a-shot"') < text.index('"b-shot"')
    assert json.loads(text)["format_version"] == 2
    assert "  " in text.splitlines()[1] and not text.splitlines()[1].startswith("   ")
    assert read_lock(path) == entries
    assert dumps_lock(read_lock(path)) == text


def test_takes_are_written_in_number_order_with_sorted_fields(tmp_path: Path) -> None:
    takes = {n: entry(take_key(KEY, n), f"v{n}") for n in (1, 2, 10)}
    lock = LockFile({"s": ShotTakes(KEY, takes, 10)})
    text = dumps_lock_file(lock)
    assert text.index('"1": {') < text.index('"2": {') < text.index('"10": {')
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2) + "\n"  # nothing but order differs from json
    assert list(doc["shots"]["s"]) == ["key", "pick", "takes"]
    assert list(doc["shots"]["s"]["takes"]["1"]) == sorted(doc["shots"]["s"]["takes"]["1"])
    write_lock_file(tmp_path / "shots.lock", lock)
    assert read_lock_file(tmp_path / "shots.lock") == lock
    assert read_lock(tmp_path / "shots.lock") == {"s": takes[10]}  # the picked view


def test_a_shot_says_which_takes_are_missing_and_what_a_reroll_gets() -> None:
    shot = ShotTakes(KEY, {1: entry(), 3: entry(take_key(KEY, 3), "v3")}, 3)
    assert shot.missing(1) == [] and shot.missing(4) == [2, 4] and shot.next_number() == 4
    grown = shot.with_take(4, entry(take_key(KEY, 4), "v4"), pick=True)
    assert grown.pick == 4 and grown.numbers == [1, 3, 4] and shot.numbers == [1, 3]
    assert grown.with_pick(1).picked == entry()
    with pytest.raises(ValueError, match="pick 2 is not one of the takes"):
        shot.with_pick(2)


def test_a_pick_is_one_changed_line() -> None:
    before = dumps_lock_file(LockFile({"s": three_takes(2)})).splitlines()
    after = dumps_lock_file(LockFile({"s": three_takes(3)})).splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [('      "pick": 2,', '      "pick": 3,')]


def test_a_lock_written_by_format_1_reads_with_identical_keys() -> None:
    """tests/data/lock_v1_main.lock was written by main's write_lock (format 1)."""
    text = (DATA / "lock_v1_main.lock").read_text()
    raw = json.loads(text)
    assert raw["format_version"] == 1
    lock = loads_lock_file(text)
    assert sorted(lock.shots) == sorted(raw["shots"])
    for name, old in raw["shots"].items():
        shot = lock.shots[name]
        assert shot.key == old["key"] and shot.numbers == [1] and shot.pick == 1
        assert shot.picked.to_json() == old  # every field, byte for byte
    assert loads_lock(text) == {n: LockEntry(**e) for n, e in raw["shots"].items()}
    rewritten = loads_lock_file(dumps_lock_file(lock))
    assert rewritten == lock and json.loads(dumps_lock_file(lock))["format_version"] == 2


def test_missing_lock_is_empty(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "shots.lock") == {}
    assert read_lock_file(tmp_path / "shots.lock") == LockFile()


def test_conflict_markers_are_named() -> None:
    text = dumps_lock({"a": entry()})
    conflicted = "<<<<<<< HEAD\n" + text + "=======\n" + text + ">>>>>>> branch\n"
    with pytest.raises(LockError, match=r"shots.lock:1:1: git conflict markers"):
        loads_lock(conflicted)


def v2(shot: dict[str, Any] | None = None, **top: Any) -> str:
    """A format-2 lock text with one shot 'a', changed by `shot` and `top`."""
    good = json.loads(dumps_lock_file(LockFile({"a": three_takes()})))
    good["shots"]["a"].update(shot or {})
    good.update(top)
    return json.dumps(good)


def take2(**fields: Any) -> dict[str, Any]:
    return {
        "takes": {
            **json.loads(v2())["shots"]["a"]["takes"],
            "2": {**three_takes().takes[2].to_json(), **fields},
        }
    }


HOSTILE = {
    "not-json": ("{", "not valid JSON"),
    "a-list": ("[]", "not a shotbuild lock"),
    "no-shots": ('{"format_version": 2}', "not a shotbuild lock"),
    "version-99": ('{"format_version": 99, "shots": {}}', "format_version 99 is not one"),
    "version-true": ('{"format_version": true, "shots": {}}', "format_version True"),
    "unknown-top": (v2(extra=1), "the lock has a field shotbuild does not know: 'extra'"),
    "nested-100000": ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels"),
    "nested-in-field": (
        v2({"key": json.loads("[" * 40 + "]" * 40)}),
        "key must be 64 lowercase hex digits, not [[[[",
    ),
    "size-1e400": (
        v2(take2(size=0)).replace('"size": 0', '"size": 1e400'),
        "1e400 is out of range",
    ),
    "size-infinity": (
        v2(take2(size=0)).replace('"size": 0', '"size": Infinity'),
        "Infinity is not a number",
    ),
    "size-nan": (v2(take2(size=0)).replace('"size": 0', '"size": NaN'), "NaN is not a number"),
    "size-5000-digits": (
        v2(take2(size=0)).replace('"size": 0', '"size": ' + "9" * 5000),
        "5000 digits",
    ),
    "size-negative": (v2(take2(size=-1)), "size must be a whole number from 0"),
    "size-float": (v2(take2(size=1.5)), "size must be a whole number"),
    "size-bool": (v2(take2(size=True)), "size must be a whole number"),
    "video-id-100000": (v2(take2(video_id="v" * 100_000)), "video_id must be a token"),
    "video-id-path": (v2(take2(video_id="../../etc/passwd")), "video_id must be a token"),
    "sha-proc": (
        v2(take2(sha256="/proc/self/environ")),
        "sha256 must be 64 lowercase hex digits, not '/proc/self/environ'",
    ),
    "built-at-nan": (v2(take2(built_at="nan")), "built_at must be a UTC time like"),
    "created-at-nan": (
        v2(take2(created_at="nan")),
        "a take has a field shotbuild does not know: 'created_at'",
    ),
    "duration-nan-string": (v2(take2(duration="nan")), "duration must be a number of seconds"),
    "duration-huge": (v2(take2(duration=1e300)), "duration must be from 0 to"),
    "origin-file": (v2(take2(origin="file:///etc/passwd")), "origin must be an http(s) origin"),
    "duplicate-shot": (
        '{"format_version": 2, "shots": {"a": {}, "a": {}}}',
        "the key 'a' appears twice",
    ),
    "duplicate-field": (
        v2().replace('"pick": 2', '"pick": 2, "pick": 3'),
        "the key 'pick' appears twice",
    ),
    "missing-take": (
        v2({"pick": 7}),
        "shot 'a': picks take 7, which the lock does not have (takes: 1, 2, 3);"
        " run `shotbuild pick a N`",
    ),
    "no-takes": (
        v2({"takes": {}, "pick": 1}),
        "picks take 1, which the lock does not have (takes: none)",
    ),
    "pick-zero": (v2({"pick": 0}), "picks take 0"),
    "pick-string": (v2({"pick": "2"}), "pick must be a whole number"),
    "pick-bool": (v2({"pick": True}), "pick must be a whole number"),
    "take-number-0": (
        v2(take2() | {"takes": {"0": {}}}),
        "a take number must be from 1 to 999, not '0'",
    ),
    "take-number-01": (v2({"takes": {"01": {}}}), "a take number must be from 1 to 999, not '01'"),
    "take-number-unicode": (v2({"takes": {"\u0663": {}}}), "a take number must be"),
    "take-key-foreign": (
        v2(take2(key="b" * 64)),
        "take 2: its key is not take 2 of the shot's key",
    ),
    "shot-key-missing": (v2({"key": None}), "key must be 64 lowercase hex digits, not None"),
    "shot-name-path": (
        '{"format_version": 2, "shots": {"../x": {}}}',
        "shot '../x': shot name must be",
    ),
    "shot-name-long": (
        '{"format_version": 1, "shots": {"' + "n" * 100_000 + '": {}}}',
        "shot name must be",
    ),
    "v1-damaged": (
        '{"format_version": 1, "shots": {"a": {"key": 1}}}',
        "shot 'a': a take lacks the field",
    ),
    "v1-sha-proc": (
        json.dumps(
            {
                "format_version": 1,
                "shots": {"a": {**entry().to_json(), "sha256": "/proc/self/environ"}},
            }
        ),
        "sha256 must be 64 lowercase hex digits",
    ),
}


@pytest.mark.parametrize(("text", "message"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_locks_are_one_line_errors_naming_the_file(text: str, message: str) -> None:
    with pytest.raises(LockError) as caught:
        loads_lock_file(text, "film/shots.lock")
    line = str(caught.value)
    assert message in line
    assert line.startswith("film/shots.lock") and "\n" not in line and len(line) < 600


def test_a_lock_symlinked_to_dev_zero_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "shots.lock"
    path.symlink_to("/dev/zero")
    with pytest.raises(LockError, match=r"shots.lock: not a regular file; restore it"):
        read_lock(path)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "shots.lock"
    os.mkfifo(path)
    with pytest.raises(LockError, match="not a regular file"):
        read_lock(path)


def test_a_huge_lock_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shotbuild.store.lock.MAX_LOCK_BYTES", 1000)
    path = tmp_path / "shots.lock"
    path.write_text(" " * 1001)
    with pytest.raises(LockError, match="larger than 1,000 bytes"):
        read_lock(path)


def test_a_lock_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "shots.lock"
    path.write_bytes(b'{"format_version": 2, "shots": {"\xff": {}}}')
    with pytest.raises(LockError, match=r"not UTF-8 text \(invalid start byte at byte 33\)"):
        read_lock(path)


def test_a_folder_in_place_of_the_lock_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "shots.lock").mkdir()
    with pytest.raises(LockError, match=r"shots\.lock: not a regular file"):
        read_lock(tmp_path / "shots.lock")


def test_failed_write_leaves_old_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shots.lock"
    write_lock(path, {"a": entry()})
    before = path.read_text()

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(OSError, match="disk full"):
        write_lock(path, {"b": entry()})
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["shots.lock"]


# -- generated locks -------------------------------------------------------------------

HEX = st.text("0123456789abcdef", min_size=64, max_size=64)
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


@st.composite
def shots(draw: st.DrawFn) -> ShotTakes:
    key = draw(HEX)
    numbers = draw(st.sets(st.integers(1, 999), min_size=1, max_size=5))
    takes = {
        n: LockEntry(
            key=take_key(key, n),
            video_id=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,30}", fullmatch=True)),
            sha256=draw(HEX),
            size=draw(st.integers(0, 1 << 40)),
            duration=draw(st.floats(0, 24 * 3600.0)),
            origin=draw(st.sampled_from(["https://api.heygen.com", "http://127.0.0.1:8080"])),
            built_at=draw(st.sampled_from(["2026-12-01T09:30:00Z", "2026-01-02T03:04:05.123Z"])),
        )
        for n in numbers
    }
    return ShotTakes(key, takes, draw(st.sampled_from(sorted(numbers))))


LOCKS = st.dictionaries(NAMES, shots(), max_size=4).map(LockFile)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LOCKS)
def test_every_lock_it_writes_reads_back_equal(lock: LockFile) -> None:
    text = dumps_lock_file(lock)
    assert loads_lock_file(text) == lock
    assert dumps_lock_file(loads_lock_file(text)) == text


SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JSON = (
    SCALARS
    | st.lists(SCALARS, max_size=3)
    | st.dictionaries(st.text(max_size=5), SCALARS, max_size=3)
)


@settings(max_examples=150, deadline=None)
@given(
    lock=LOCKS,
    path=st.lists(
        st.sampled_from(["shots", "a", "takes", "1", "2", "key", "pick", "size", "video_id"]),
        max_size=4,
    ),
    junk=JSON,
)
def test_a_lock_with_any_value_replaced_reads_or_fails_in_one_line(
    lock: LockFile, path: list[str], junk: Any
) -> None:
    doc = json.loads(dumps_lock_file(lock))
    node = doc
    for step in path[:-1]:
        if not isinstance(node, dict) or step not in node:
            break
        node = node[step]
    if isinstance(node, dict) and path:
        node[path[-1]] = junk
    try:
        read = loads_lock_file(json.dumps(doc))
    except LockError as e:
        message = str(e)
    else:  # what it accepts is a valid lock it can write back
        assert loads_lock_file(dumps_lock_file(read)) == read
        assert all(shot.pick in shot.takes for shot in read.shots.values())
        return
    assert message.startswith("shots.lock") and "\n" not in message


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=string.printable, max_size=200))
def test_any_text_reads_or_fails_in_one_line(text: str) -> None:
    try:
        loads_lock_file(text)
    except LockError as e:
        message = str(e)
    else:
        return
    assert message.startswith("shots.lock") and "\n" not in message


def test_a_format_1_lock_keeps_every_shot_up_to_date(tmp_path: Path) -> None:
    """Build, then put back the lock as main's format-1 writer made it: the plan still
    finds every shot up to date, and nothing is rendered again."""
    from engine_fakes import FakeHeyGen, heygen_backend, make_shot, make_spec

    from shotbuild.build import BuildOptions, build
    from shotbuild.plan import UP_TO_DATE, make_plan
    from shotbuild.store.cache import Cache

    fake, cache = FakeHeyGen(), Cache(tmp_path / "cache")
    spec = make_spec(tmp_path, *(make_shot(f"s{i}", f"Prompt {i}.") for i in range(3)))

    async def no_sleep(seconds: float) -> None:
        return None

    build(spec, heygen_backend(fake, cache), BuildOptions(), cache=cache, sleep=no_sleep)
    picked = read_lock(spec.lock_path)
    v1 = {"format_version": 1, "shots": {n: e.to_json() for n, e in picked.items()}}
    spec.lock_path.write_text(json.dumps(v1, indent=2, sort_keys=True) + "\n")
    plan = make_plan(spec, heygen_backend(fake, cache), cache)
    assert {i.name: i.status for i in plan.items} == {n: UP_TO_DATE for n in picked}
    build(spec, heygen_backend(fake, cache), BuildOptions(), cache=cache, sleep=no_sleep)
    assert fake.creates == 3 and read_lock(spec.lock_path) == picked


def test_load_json_checks_depth_unless_the_reader_checks_every_type() -> None:
    from shotbuild.untrusted import BadValue, load_json

    deep = "[" * 40 + "]" * 40
    with pytest.raises(BadValue, match="nested more than 32 levels"):
        load_json(deep)
    assert load_json(deep, check_depth=False) == json.loads(deep)
    with pytest.raises(BadValue, match="nested more than 32 levels"):
        load_json("[" * 100_000 + "]" * 100_000, check_depth=False)  # the decoder's own limit
    with pytest.raises(BadValue, match="the key 'a' appears twice"):
        load_json('{"b": 1, "a": 1, "a": 2}')
