"""The fast readers of the lock and the manifest (`store.lock._fast_lock`,
`store.outputs._usual_entries`) accept only what the checked readers accept, and
read it to the same value: compared on generated documents, duplicate keys,
escapes, odd numbers and damaged fields included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild.store import lock, outputs
from shotbuild.store.lock import LockError
from shotbuild.untrusted import BadValue

KEY = "9" * 64
SHA = "5" * 64


class Raw(str):
    """A JSON token written as it is (a number's spelling, NaN, a bad literal)."""


def _text(value: Any) -> str:
    """JSON text of `value`; a list of pairs is an object (so a key may repeat)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, list):
        return "{" + ", ".join(f"{json.dumps(k)}: {_text(v)}" for k, v in value) + "}"
    return json.dumps(value, ensure_ascii=False)


# values a field may get: right ones, and each kind of wrong one
ODD = st.sampled_from(
    [
        None,
        True,
        0,
        1,
        2,
        -1,
        31,
        4.0,
        Raw("4"),
        Raw("4.0000000000000000000000000000000000000000001"),
        Raw("1e999"),
        Raw("NaN"),
        Raw("-Infinity"),
        Raw("1" * 25),
        Raw("-0"),
        Raw("2.0"),
        1 << 41,
        1 << 63,
        "",
        "a\\b",
        'a"b',
        "\u00e9",
        "x" * 4097,
        KEY,
        KEY.upper(),
        "v1",
        "https://api.heygen.com",
        "2026-12-01T09:30:00Z",
        "shot-1",
        "../x",
        [],
    ]
)


def _entry_pairs() -> list[tuple[str, Any]]:
    return [
        ("built_at", "2026-12-01T09:30:00Z"),
        ("duration", 4.0),
        ("key", KEY),
        ("origin", "https://api.heygen.com"),
        ("sha256", SHA),
        ("size", 31),
        ("video_id", "v1"),
    ]


@st.composite
def _damaged(draw: st.DrawFn, pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """`pairs` with at most two changes: a field's value replaced, a field dropped,
    one given twice, one unknown added."""
    pairs = list(pairs)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(pairs) - 1)) if pairs else 0
        how = draw(st.sampled_from(["value", "drop", "twice", "unknown"]))
        if how == "value" and pairs:
            pairs[at] = (pairs[at][0], draw(ODD))
        elif how == "drop" and pairs:
            del pairs[at]
        elif how == "twice" and pairs:
            pairs.insert(at, (pairs[at][0], draw(st.sampled_from([pairs[at][1], 1, "v2"]))))
        else:
            pairs.append(("extra", draw(ODD)))
    return pairs


@st.composite
def _lock_text(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(["a", "b", "c-1", "../x", ""]), max_size=3))
    shots = []
    for name in names:
        entry = draw(_damaged(_entry_pairs()))
        shot = [("key", KEY), ("pick", 1), ("takes", [("1", entry)])]
        shots.append((name, draw(_damaged(shot)) if draw(st.booleans()) else shot))
    top = [("format_version", 2), ("shots", shots)]
    return _text(draw(_damaged(top)) if draw(st.integers(0, 4)) == 0 else top)


def _checked_lock(text: str) -> lock.LockFile | None:
    try:
        return lock._checked_lock_file(text, "shots.lock")
    except LockError:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_lock_text())
def test_the_fast_lock_reader_accepts_only_what_the_checked_one_reads(text: str) -> None:
    want = _checked_lock(text)
    got = lock._fast_lock(text)
    if want is None:
        assert got is None
    elif got is not None:
        assert got == want
        assert [type(s.takes[1].duration) for s in got.shots.values()] == [float] * len(got.shots)


def _owned_pairs(name: str) -> list[tuple[str, Any]]:
    return [
        ("backend", "heygen"),
        ("built_at", "2026-12-01T09:30:00Z"),
        ("callback_url", None),
        ("duration", 4.0),
        ("inode", 7),
        ("key", KEY),
        ("mtime_ns", 1796153806999841652),
        ("origin", "https://api.heygen.com"),
        ("sha256", SHA),
        ("shot", name),
        ("size", 31),
        ("spec", "/p/shots.yaml"),
        ("title", "Shot"),
        ("video_id", "v1"),
    ]


@st.composite
def _manifest_text(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(["a", "b", "c-1", "../x"]), max_size=3))
    entries = [(f"{n}.mp4", draw(_damaged(_owned_pairs(n)))) for n in names]
    top = [("format_version", 1), ("outputs", entries)]
    return _text(draw(_damaged(top)) if draw(st.integers(0, 4)) == 0 else top)


def _checked_manifest(text: str) -> dict[str, outputs.Owned] | None:
    try:
        return outputs._checked_entries(text)
    except (ValueError, BadValue):  # what Manifest._load reads as no entries
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_manifest_text())
def test_the_fast_manifest_reader_accepts_only_what_the_checked_one_reads(text: str) -> None:
    want = _checked_manifest(text)
    got = outputs._usual_entries(text)
    if want is None:
        assert got is None
    elif got is not None:
        assert got == want
        assert {r: type(o.duration) for r, o in got.items()} == {
            r: type(o.duration) for r, o in want.items()
        }


def test_a_lock_as_shotbuild_writes_it_takes_the_fast_path(tmp_path: Path) -> None:
    entry = lock.LockEntry(
        KEY, "v1", SHA, 31, 4.0, "https://api.heygen.com", "2026-12-01T09:30:00Z"
    )
    text = lock.dumps_lock({"a": entry, "b": entry.replace(video_id="v2")})
    fast = lock._fast_lock(text)
    assert fast is not None and fast == lock._checked_lock_file(text, "shots.lock")
    assert fast.picked()["b"].video_id == "v2"


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace('"pick": 1,', '"pick": 1, "pick": 1,', 1),  # a key twice
        lambda t: t.replace('"video_id": "v1"', '"video_id": "v1", "video_id": "v1"', 1),
        lambda t: t.replace('"size": 31', '"size": 31.0', 1),
        lambda t: t.replace(
            '"duration": 4.0', '"duration": 4.00000000000000000000000000000000000000001'
        ),
        lambda t: t.replace('"video_id": "v1"', '"video_id": "v\\u0031"', 1),  # an escape
    ],
)
def test_a_lock_out_of_the_usual_goes_the_checked_way(change: Any) -> None:
    entry = lock.LockEntry(
        KEY, "v1", SHA, 31, 4.0, "https://api.heygen.com", "2026-12-01T09:30:00Z"
    )
    text = change(lock.dumps_lock({"a": entry}))
    assert text != lock.dumps_lock({"a": entry})
    assert lock._fast_lock(text) is None


def test_a_manifest_as_shotbuild_writes_it_takes_the_fast_path(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"x")
    manifest = outputs.Manifest(tmp_path)
    owned = manifest.record("a.mp4", {"shot": "a", "backend": "heygen", "key": KEY, "sha256": SHA})
    text = (tmp_path / outputs.MANIFEST_NAME).read_text()
    assert outputs._usual_entries(text) == {"a.mp4": owned} == outputs._checked_entries(text)
    twice = text.replace('"key": ', f'"key": "{KEY}", "key": ', 1)
    assert outputs._usual_entries(twice) is None and outputs.Manifest(tmp_path).entries
    (tmp_path / outputs.MANIFEST_NAME).write_text(twice)
    assert outputs.Manifest(tmp_path).entries == {}  # the checked reader refuses it whole


# the readers of the text exactly as shotbuild writes it (`_written_lock`,
# `_written_entries`): written from values that may be wrong, then maybe damaged

TEXTS = st.sampled_from(
    ["", "a", "a\\b", 'a"b', "\u00e9", "\x7f", "\n", "x" * 4097, KEY, KEY.upper(), "v1", "../x"]
)
NUMBERS = st.sampled_from([0, 1, 31, -1, 1 << 40, (1 << 40) + 1, 1 << 63, (1 << 63) + 1, True])
SECONDS = st.sampled_from([0.0, 4.0, 4, 1e-05, 86400.0, 86400.5, 99999.0, -0.0, float("nan")])


def _odd(draw: st.DrawFn, good: Any, odd: st.SearchStrategy[Any]) -> Any:
    return draw(odd) if draw(st.integers(0, 11)) == 0 else good


@st.composite
def _odd_entry(draw: st.DrawFn) -> lock.LockEntry:
    return lock.LockEntry(
        _odd(draw, KEY, TEXTS),
        _odd(draw, "v1", TEXTS),
        _odd(draw, SHA, TEXTS),
        _odd(draw, 31, NUMBERS),
        _odd(draw, 4.0, SECONDS),
        _odd(draw, "https://api.heygen.com", TEXTS),
        _odd(draw, "2026-12-01T09:30:00Z", TEXTS),
    )


@st.composite
def _damaged_text(draw: st.DrawFn, text: str) -> str:
    """`text`, or with one line given twice, dropped, or one character changed."""
    lines = text.split("\n")
    how = draw(st.sampled_from(["none", "none", "none", "twice", "drop", "char"]))
    at = draw(st.integers(0, len(lines) - 1))
    if how == "twice":
        lines.insert(at, lines[at])
    elif how == "drop":
        del lines[at]
    elif how == "char" and lines[at]:
        i = draw(st.integers(0, len(lines[at]) - 1))
        lines[at] = lines[at][:i] + draw(st.sampled_from(' "\\{},:1aZ')) + lines[at][i + 1 :]
    return "\n".join(lines)


@st.composite
def _written_lock_text(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(["a", "b", "c-1", "../x", "é"]), max_size=3))
    entries = {name: draw(_odd_entry()) for name in names}
    shots = {name: lock.ShotTakes(e.key, {1: e}) for name, e in entries.items()}
    return draw(_damaged_text(lock.LockText().dumps(lock.LockFile(shots))))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_written_lock_text())
def test_the_written_lock_reader_accepts_only_what_the_checked_one_reads(text: str) -> None:
    want = _checked_lock(text)
    got = lock._written_lock(text)
    if want is None:
        assert got is None
    elif got is not None:
        assert got == want
        assert [type(s.takes[1].duration) for s in got.shots.values()] == [float] * len(got.shots)


@st.composite
def _written_manifest_text(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(["a", "b", "c-1", "../x"]), max_size=3))
    entries = {}
    for name in names:
        optional = st.one_of(st.none(), TEXTS)
        entries[f"{name}.mp4"] = outputs.Owned(
            _odd(draw, name, TEXTS),
            _odd(draw, "heygen", TEXTS),
            _odd(draw, KEY, TEXTS),
            _odd(draw, SHA, TEXTS),
            _odd(draw, 31, NUMBERS),
            _odd(draw, 1796153806999841652, NUMBERS),
            _odd(draw, 7, NUMBERS),
            _odd(draw, "Shot", optional),
            _odd(draw, None, optional),
            _odd(draw, "v1", optional),
            _odd(draw, 4.0, st.one_of(st.none(), SECONDS)),
            _odd(draw, "https://api.heygen.com", optional),
            _odd(draw, "2026-12-01T09:30:00Z", optional),
            _odd(draw, "/p/shots.yaml", optional),
        )
    text = outputs.Manifest(Path("/nonexistent/build"))._dumps(entries)
    return draw(_damaged_text(text))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_written_manifest_text())
def test_the_written_manifest_reader_accepts_only_what_the_checked_one_reads(text: str) -> None:
    want = _checked_manifest(text)
    got = outputs._written_entries(text)
    if want is None:
        assert got is None
    elif got is not None:
        assert got == want
        assert {r: type(o.duration) for r, o in got.items()} == {
            r: type(o.duration) for r, o in want.items()
        }


def test_the_written_forms_are_read_by_their_own_readers(tmp_path: Path) -> None:
    entry = lock.LockEntry(
        KEY, "v1", SHA, 31, 4.0, "https://api.heygen.com", "2026-12-01T09:30:00Z"
    )
    text = lock.dumps_lock({"a": entry, "b": entry.replace(video_id="v2", duration=1e-05)})
    assert lock._written_lock(text) is None  # 1e-05: a spelling the pattern leaves out
    text = lock.dumps_lock({"a": entry, "b": entry.replace(video_id="v2")})
    assert lock._written_lock(text) == lock._checked_lock_file(text, "shots.lock")
    assert lock._written_lock(text.replace('"b"', '"a"')) is None  # a shot named twice
    (tmp_path / "a.mp4").write_bytes(b"x")
    manifest = outputs.Manifest(tmp_path)
    owned = manifest.record("a.mp4", {"shot": "a", "backend": "heygen", "key": KEY, "sha256": SHA})
    text = (tmp_path / outputs.MANIFEST_NAME).read_text()
    assert outputs._written_entries(text) == {"a.mp4": owned}
