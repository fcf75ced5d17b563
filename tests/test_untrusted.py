"""The bounded JSON loader and field checks every reader of outside data uses."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbuild import untrusted
from shotbuild.untrusted import BadValue


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than 32"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ('{"size": NaN}', "NaN is not a number"),
        ('{"size": Infinity}', "Infinity is not a number"),
        ('{"size": 1e400}', "out of range"),
        ('{"size": ' + "9" * 5000 + "}", "5000 digits"),
        ("{", "not valid JSON"),
    ],
)
def test_load_json_refuses(text: str, says: str) -> None:
    with pytest.raises(BadValue, match=says):
        untrusted.load_json(text)


def test_load_json_size_bound() -> None:
    with pytest.raises(BadValue, match="larger than 10 bytes"):
        untrusted.load_json(b'{"a": "0123456789"}', max_bytes=10)


def test_brackets_in_strings_do_not_count_as_depth() -> None:
    doc = {"prompt": "[" * 500 + '\\"{' * 100}
    assert untrusted.load_json(untrusted_json(doc)) == doc


def untrusted_json(doc: Any) -> str:
    import json

    return json.dumps(doc)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (untrusted.sha256, "/proc/self/environ"),
        (untrusted.sha256, "A" * 64),
        (untrusted.token, "x" * 129),
        (untrusted.token, "../etc"),
        (untrusted.shot_name, "../x"),
        (untrusted.timestamp, "nan"),
        (untrusted.origin, "file:///etc"),
    ],
)
def test_pattern_checks_refuse(check: Any, value: str) -> None:
    with pytest.raises(BadValue):
        check(value, "field")


@pytest.mark.parametrize("value", [-1, True, 1.5, 2**41, "3"])
def test_count_refuses(value: Any) -> None:
    with pytest.raises(BadValue, match="whole number"):
        untrusted.count(value, "size")


@pytest.mark.parametrize("value", [-5, float("inf"), float("nan"), "10", None, 10**6])
def test_seconds_refuses(value: Any) -> None:
    with pytest.raises(BadValue):
        untrusted.seconds(value)


def test_good_values_pass() -> None:
    assert untrusted.sha256("ab" * 32) == "ab" * 32
    assert untrusted.token("vid_123-a.b:c") == "vid_123-a.b:c"
    assert untrusted.count(0, "size") == 0
    assert untrusted.seconds(10) == 10.0
    assert untrusted.timestamp("2026-12-01T09:30:00Z")
    assert untrusted.origin("http://127.0.0.1:8765") == "http://127.0.0.1:8765"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=30,
    )
)
def test_load_json_never_raises_other_errors(doc: Any) -> None:
    import json

    text = json.dumps(doc)
    with contextlib.suppress(BadValue):
        assert untrusted.load_json(text) == doc
