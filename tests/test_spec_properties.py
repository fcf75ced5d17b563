"""Property tests: random mutations of a valid spec, in its text and in its
values, never make the loader raise anything but SpecInvalid, and the quick
validity check always agrees with jsonschema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild.spec import SpecInvalid, check_file, load_spec, schema
from shotbuild.spec.fastcheck import compile_schema

VALID = """\
# yaml-language-server: $schema=../../schemas/shots.schema.json
version: 1
build_dir: out
x-tall: &tall
  aspect_ratio: "9:16"
defaults:
  avatar_id: [look_a]
  resolution: 1080p
  duration: 6
shots:
  intro:
    <<: *tall
    prompt: >
      A founder walks through a sunlit office.
    avatar_id: [look_a, look_b]
    references:
      - {type: url, url: "https://cdn.example.com/a.mp4"}
      - {type: asset_id, asset_id: ast_1, media: image}
      - {type: file, path: refs/a.png}
      - {type: base64, media_type: image/png, data: aGVsbG8=}
    title: Intro
    callback_url: https://hooks.example.com/x
  outro:
    prompt: Goodbye.
    auto_duration: true
    enhance_prompt: true
    type: cinematic_avatar
"""

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["16:9", "1080p", "image", "url", "file", "base64", "https://x.io/a.mp4"]),
    st.sampled_from(["a\x00b", "../x.png", "/etc/x.png", "refs", "x" * 300, "http://[x", "~"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "a.png").write_bytes(b"\x89PNG")
    return tmp_path


def test_the_base_spec_is_valid(spec_dir: Path) -> None:
    (spec_dir / "shots.yaml").write_text(VALID)
    assert check_file(spec_dir / "shots.yaml") == []


def assert_loads_or_reports(path: Path) -> None:
    problems = check_file(path)
    if not problems:
        load_spec(path)
        return
    with pytest.raises(SpecInvalid) as caught:
        load_spec(path)
    assert caught.value.problems == problems
    assert all(p.line >= 1 and p.col >= 1 and "\n" not in p.message for p in problems)


YAML_BITS = ["!!int ", "!!float ", "!!timestamp ", "!!binary ", "!!set ", "!<x> ", "*tall "]
YAML_BITS += ["&x ", "<<: *tall\n", "\n  - ", ": ", "\n---\n", "? ", "|\n"]

edits = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "dup_line", "drop_line", "swap"]),
        st.integers(min_value=0, max_value=len(VALID)),
        st.one_of(
            st.text(
                alphabet=st.sampled_from(list(" \t\n:-[]{}&*<!|>'\"#%@`,?x1é\x00\x85\ufeff")),
                max_size=4,
            ),
            st.sampled_from(YAML_BITS),
        ),
    ),
    min_size=1,
    max_size=4,
)


def apply(text: str, kind: str, at: int, chunk: str) -> str:
    at = min(at, len(text))
    if kind == "insert":
        return text[:at] + chunk + text[at:]
    if kind == "delete":
        return text[:at] + text[at + len(chunk) + 1 :]
    if kind == "replace":
        return text[:at] + chunk + text[at + len(chunk) :]
    lines = text.splitlines(keepends=True)
    i = at % max(len(lines), 1)
    if kind == "dup_line":
        return "".join(lines[: i + 1] + lines[i:])
    if kind == "drop_line":
        return "".join(lines[:i] + lines[i + 1 :])
    j = (i + len(chunk) + 1) % max(len(lines), 1)
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


@SETTINGS
@given(edits)
def test_text_mutations_never_crash(spec_dir: Path, changes: list[tuple[str, int, str]]) -> None:
    text = VALID
    for kind, at, chunk in changes:
        text = apply(text, kind, at, chunk)
    path = spec_dir / "shots.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert_loads_or_reports(path)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(spec_dir: Path, data: bytes) -> None:
    path = spec_dir / "shots.yaml"
    path.write_bytes(data)
    assert_loads_or_reports(path)


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths_in(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths_in(v, (*prefix, i))
    return found


BASE = yaml.safe_load(VALID)
BASE_PATHS = paths_in(BASE)[1:]

mutations = st.lists(
    st.tuples(
        st.sampled_from(BASE_PATHS),
        st.sampled_from(["set", "delete", "add_key"]),
        json_values,
        st.sampled_from(["prompt", "promt", "type", "media", "url", "zzz", "duration", "x-y"]),
    ),
    min_size=1,
    max_size=3,
)


def has(parent: Any, part: Any) -> bool:
    if isinstance(parent, dict):
        return part in parent
    return isinstance(parent, list) and isinstance(part, int) and part < len(parent)


def mutate(doc: Any, path: tuple[Any, ...], kind: str, value: Any, key: str) -> None:
    parent = doc
    for part in path[:-1]:
        if not has(parent, part):
            return
        parent = parent[part]
    last = path[-1]
    if has(parent, last):
        if kind == "set":
            parent[last] = value
        elif kind == "delete":
            del parent[last]
        elif isinstance(parent[last], dict):
            parent[last][key] = value


@SETTINGS
@given(mutations)
def test_value_mutations_are_reported_not_raised(
    spec_dir: Path, changes: list[tuple[tuple[Any, ...], str, Any, str]]
) -> None:
    doc = yaml.safe_load(VALID)
    for path, kind, value, key in changes:
        mutate(doc, path, kind, value, key)
    quick = compile_schema(schema.schema())
    assert quick(doc) == jsonschema.Draft202012Validator(schema.schema()).is_valid(doc)
    path = spec_dir / "shots.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert_loads_or_reports(path)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_quick_check_agrees_with_jsonschema_on_any_value(value: Any) -> None:
    doc = {"shots": {"a": {"prompt": "p", "avatar_id": ["l"], "references": [value]}}}
    for candidate in (value, doc, {"shots": value}, {"shots": {"a": value}}):
        expected = jsonschema.Draft202012Validator(schema.schema()).is_valid(candidate)
        assert schema.quick_check()(candidate) == expected, candidate
