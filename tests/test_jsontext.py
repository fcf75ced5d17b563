"""The lock's and the manifest's member text is byte for byte json.dumps(indent=2)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from shotbuild.store.jsontext import member


def _json_member(name: str, value: Any, depth: int, *, ensure_ascii: bool, sort_keys: bool) -> str:
    pad = " " * (2 * depth)
    text = json.dumps(value, indent=2, ensure_ascii=ensure_ascii, sort_keys=sort_keys)
    key = json.dumps(name, ensure_ascii=ensure_ascii)
    return f"{pad}{key}: {text.replace(chr(10), chr(10) + pad)}"


SCALARS: list[Any] = [
    None, True, False, 0, -3, 10**20, 1.5, -0.0, 1e300, 7.0, float("nan"), float("inf"),
    "", "plain", 'é\n"\\\u2028\U0001f600\x00', (1, "two"),
]  # fmt: skip


def _value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if depth > 3 or roll < 0.5:
        return rnd.choice(SCALARS)
    if roll < 0.75:
        keys = ["a", "b", "é", "z\n", "1", "10", "2"]
        return {rnd.choice(keys): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("sort_keys", [True, False])
def test_member_is_json_dumps(ensure_ascii: bool, sort_keys: bool) -> None:
    rnd = random.Random(16)
    for _ in range(3000):
        value = _value(rnd)
        for depth in (0, 1, 2):
            want = _json_member(
                "nämé\n", value, depth, ensure_ascii=ensure_ascii, sort_keys=sort_keys
            )
            got = member("nämé\n", value, depth, ensure_ascii=ensure_ascii, sort_keys=sort_keys)
            assert got == want, value


def test_member_falls_back_for_values_it_does_not_write() -> None:
    # non-string keys, tuples and non-finite floats: json's own encoder writes them
    for value in ({1: "a", "b": 2}, {"t": (1, 2)}, [float("-inf")], {"k": {2: None}}):
        want = _json_member("x", value, 1, ensure_ascii=True, sort_keys=False)
        assert member("x", value, 1, ensure_ascii=True, sort_keys=False) == want
