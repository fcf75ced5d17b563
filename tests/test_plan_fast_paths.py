"""The per-shot shortcuts of planning give the answers of what they replace: the key
encoder, the key memo, a manifest entry and a lock entry read on their fast path,
an output's path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbuild import keys
from shotbuild.store import lock, outputs
from shotbuild.untrusted import BadValue

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(JSON)
def test_canonical_json_is_json_dumps(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert keys.canonical_json(value) == expected


def test_the_c_encoder_is_in_use_here() -> None:
    assert keys._c_encoder() is not None  # CPython has one: the fast path is tested above


def _request(prompt: str = "a founder walks") -> dict[str, Any]:
    return {
        "type": "avatar_shots",
        "prompt": prompt,
        "avatar_id": ["look_founder"],
        "aspect_ratio": "16:9",
        "resolution": "1080p",
        "enhance_prompt": False,
        "duration": 5,
        "references": [],
        "auto_duration": False,
    }


def test_accepted_keys_begin_with_the_shot_key(tmp_path: Path) -> None:
    from shotbuild.spec import load_spec

    spec_path = tmp_path / "shots.yaml"
    spec_path.write_text(
        "version: 1\nshots:\n  a: {prompt: one, avatar_id: [x]}\n"
        "  b: {prompt: two, avatar_id: [x], type: cinematic_avatar}\n"
    )
    spec = load_spec(spec_path)
    got = keys.shot_keys(spec, "https://api.heygen.com", lambda p: "0" * 64)
    for key, request in got.values():
        assert key == keys.key_of("https://api.heygen.com", request)
        accepted = keys.accepted_keys("https://api.heygen.com", request, "cinematic_avatar")
        assert accepted[0] == key
        assert accepted[1:] == (
            keys.key_of("https://api.heygen.com", {**request, "type": "cinematic_avatar"}),
        )


def _owned(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "backend": "heygen",
        "built_at": "2026-12-01T15:54:20Z",
        "callback_url": None,
        "duration": 4.0,
        "inode": 3662926,
        "key": "9" * 64,
        "mtime_ns": 1796140460258648887,
        "origin": "https://api.heygen.com",
        "sha256": "5" * 64,
        "shot": "shot-0000",
        "size": 32,
        "spec": "/work/shots.yaml",
        "title": "Shot 0",
        "video_id": "v-618",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not _GONE}


_GONE = object()
BAD_VALUES: list[Any] = [
    None,
    True,
    False,
    -1,
    0,
    1,
    4.5,
    float("nan"),
    float("inf"),
    1 << 63,
    (1 << 63) + 1,
    1 << 41,
    "",
    "x" * 4097,
    "../x",
    "a b",
    "Z" * 64,
    "a" * 64,
    [],
    {},
    _GONE,
]
OWNED_FIELDS = list(outputs.Owned._fields)


def _same_reading(raw: Any) -> None:
    fast = outputs._fast_owned(raw)
    try:
        checked = outputs._checked_owned(raw)
    except BadValue:
        assert fast is None  # refused by the checks: never accepted by the fast path
        with pytest.raises(BadValue):
            outputs.owned_from_json(raw)
        return
    if fast is not None:
        assert fast == checked
        assert {f: type(getattr(fast, f)) for f in OWNED_FIELDS} == {
            f: type(getattr(checked, f)) for f in OWNED_FIELDS
        }
    assert outputs.owned_from_json(raw) == checked


@pytest.mark.parametrize("field", [*OWNED_FIELDS, "unknown"])
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_a_manifest_entry_reads_the_same_on_both_paths(field: str, value: Any) -> None:
    _same_reading(_owned(**{field: value}))


def test_a_good_manifest_entry_takes_the_fast_path() -> None:
    raw = _owned(duration=4)
    fast = outputs._fast_owned(raw)
    assert fast is not None and fast == outputs._checked_owned(raw)
    assert type(fast.duration) is float
    with pytest.raises(AttributeError):
        fast.key = "0" * 64  # type: ignore[misc]
    assert outputs._fast_owned([raw]) is None and outputs._fast_owned("x") is None


def _entry(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "built_at": "2026-12-01T15:54:20Z",
        "duration": 4.0,
        "key": "9" * 64,
        "origin": "https://api.heygen.com",
        "sha256": "5" * 64,
        "size": 32,
        "video_id": "v-618",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not _GONE}


@pytest.mark.parametrize("field", ["built_at", "duration", "key", "origin", "sha256", "size"])
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_a_lock_entry_reads_the_same_on_both_paths(field: str, value: Any) -> None:
    raw = _entry(**{field: value})
    try:
        checked = lock._checked_entry(raw)
    except BadValue as e:
        with pytest.raises(BadValue, match=str(e).replace("(", r"\(").replace(")", r"\)")[:20]):
            lock.parse_entry(raw)
        return
    got = lock.parse_entry(raw)
    assert got == checked and type(got.duration) is float


def test_a_one_take_shot_reads_as_the_checked_one() -> None:
    raw = {"key": "9" * 64, "pick": 1, "takes": {"1": _entry(duration=4)}}
    fast = lock._v2_shot(raw, "a")
    assert fast == lock._checked_shot(raw, "a")
    assert fast.pick == 1 and fast.takes[1].duration == 4.0
    with pytest.raises(AttributeError):
        fast.pick = 2  # type: ignore[misc]


def test_keys_first_is_the_tuple_it_stands_for_and_lazy() -> None:
    asked: list[int] = []

    def rest() -> tuple[str, ...]:
        asked.append(1)
        return ("a", "b", "c")

    lazy = keys.KeysFirst("a", rest)
    assert "a" in lazy and not asked  # the usual case: no other key made
    assert "c" in lazy and "z" not in lazy and asked == [1]
    assert tuple(lazy) == ("a", "a", "b", "c") and len(lazy) == 4 and asked == [1]
    assert "b" in keys.KeysFirst("x", lambda: ("b",))


def test_repeated_texts_of_a_manifest_are_one_object() -> None:
    first = outputs.owned_from_json(_owned())
    second = outputs.owned_from_json(json.loads(json.dumps(_owned(shot="shot-0001"))))
    assert first.origin == second.origin and first.origin is second.origin
    assert first.spec is second.spec and first.built_at is second.built_at
