"""The validate path's shortcuts give the answers of what they replace."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild.spec.rules import _suffix, reference_kind
from shotbuild.spec.yamlpos import Parsed, _may_nest_deeper_than

PATHS = st.text(alphabet="/.a\\b", max_size=12)


@given(PATHS)
def test_suffix_is_pure_posix_paths(text: str) -> None:
    assert _suffix(text) == PurePosixPath(text).suffix


def test_suffix_of_urls_and_paths() -> None:
    assert _suffix("https://cdn.example.com/ref1.MP4") == ".MP4"
    assert _suffix("media/clip.tar.webm/") == ".webm"
    assert _suffix("media/.hidden") == ""
    assert _suffix("a/b/.") == ""
    assert reference_kind({"type": "url", "url": "https://x.test/a.jpg?v=2#top"}) == "image"
    assert reference_kind({"type": "file", "path": "clips\\intro.mov"}) == "video"


def _old_nest_check(text: str, depth: int) -> bool:
    """The check as it was: every line's lead listed, then measured."""
    if text.count("[") + text.count("{") > depth:
        return True
    return any(len(lead) > depth for lead in re.findall(r"(?m)^[ ?:-]*", text))


@given(st.text(alphabet=" ?:-ab\n[{", max_size=60), st.integers(0, 8))
def test_nest_check_is_the_old_one(text: str, depth: int) -> None:
    assert _may_nest_deeper_than(text, depth) == _old_nest_check(text, depth)


SCALARS = st.text(alphabet="yYnNtTfFoO~0123456789.+-:eE_<=!&* xa", max_size=10) | st.sampled_from(
    [
        "",
        "~",
        "null",
        "Null",
        "yes",
        "No",
        "on",
        "OFF",
        "true",
        "1_000",
        "0x1F",
        "0o17",
        "1e3",
        ".inf",
        "-.Inf",
        ".nan",
        "2026-12-01",
        "2026-12-01T09:30:00Z",
        "12:30:45",
        "<<",
        "=",
        "16:9",
    ]
)


@given(SCALARS, st.booleans(), st.booleans())
def test_the_quick_tagger_gives_pyyaml_s_tags(value: str, plain: bool, quoted: bool) -> None:
    import yaml

    from shotbuild.spec.yamlpos import Loader, _Resolving

    ours, theirs = _Resolving(""), Loader("")
    try:
        for kind in (yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode):
            got = ours.resolve(kind, value, (plain, quoted))
            assert got == theirs.resolve(kind, value, (plain, quoted))
    finally:
        ours.dispose()
        theirs.dispose()


def test_a_spec_composes_to_the_same_tags() -> None:
    import yaml

    from shotbuild.spec.yamlpos import Loader, _Resolving

    text = (
        "version: 1\nx-base: &b {duration: 8, enhance_prompt: yes}\nshots:\n"
        "  a: {<<: *b, prompt: 'q', avatar_id: [x, ~, null, 1.5, 2026-12-01], title: 16:9}\n"
        '  b: {prompt: !!str 12, takes: 0x3, aspect_ratio: "9:16"}\n'
    )

    def tags(node: yaml.Node) -> list[str]:
        out = [node.tag]
        if isinstance(node, yaml.SequenceNode):
            out += [t for item in node.value for t in tags(item)]
        elif isinstance(node, yaml.MappingNode):
            out += [t for k, v in node.value for t in (*tags(k), *tags(v))]
        return out

    ours, theirs = _Resolving(text), Loader(text)
    try:
        assert tags(ours.get_single_node()) == tags(theirs.get_single_node())
    finally:
        ours.dispose()
        theirs.dispose()


YAML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.text(alphabet="abc xyz-_.:019", min_size=1, max_size=8).filter(str.strip),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=4)
    ),
    max_leaves=16,
)


@given(st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), YAML_VALUES, max_size=5))
def test_the_walk_reads_what_pyyaml_reads(doc: dict[str, object]) -> None:
    """Strings taken straight from a mapping or a list (no call to value()) come out
    as PyYAML's own loader reads them, and everything else as before."""
    import yaml

    from shotbuild.spec.yamlpos import parse

    for style in (False, None):  # block and flow YAML
        text = yaml.safe_dump(doc, default_flow_style=style)
        parsed = parse(text)
        assert not parsed.problems
        expected = yaml.safe_load(text)
        assert parsed.value == expected
        assert _types(parsed.value) == _types(expected)


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)


@pytest.mark.parametrize(
    ("text", "where"),
    [("a: x\nb: y\nc: z\nd: w\ne: v\n", (5, 4)), ("- a\n- b\n- [c, d]\n", (3, 7))],
)
def test_the_value_count_stops_a_large_spec_where_it_did(
    text: str, where: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.spec import yamlpos

    monkeypatch.setattr(yamlpos, "MAX_VALUES", 5)
    assert yamlpos.parse("a: x\nb: [y, z]\n").value == {"a": "x", "b": ["y", "z"]}
    with pytest.raises(yamlpos.YamlSyntaxError) as caught:
        yamlpos.parse(text)
    assert (caught.value.position.line, caught.value.position.col) == where
    assert caught.value.message == "the spec expands to over 5 values; split the spec"


@given(
    st.text(alphabet="0123456789_+-xob:.", max_size=24)
    | st.integers(0, 10**25).map(str)
    | st.sampled_from(["0", "00", "017", "0x1F", "1_000", "+5", "-0", "٣", "¹"])
)
def test_a_plain_int_reads_as_pyyaml_constructs_it(text: str) -> None:
    import yaml

    from shotbuild.spec.yamlpos import INT_TAG, Loader, _plain_decimal, _Walker

    if ":" in text:
        return  # 1:30 (YAML 1.1's base 60) is kept as text: _yaml11_only, not this path
    node = yaml.ScalarNode(INT_TAG, text)
    loader = Loader("")
    try:
        walker = _Walker(loader)
        walker.parsed = Parsed(None)
        try:
            expected = loader.construct_object(node, deep=True)
        except Exception:
            assert not _plain_decimal(text)  # PyYAML refuses it: never on the quick path
            return
        got = walker.scalar(node)
        assert got == expected and type(got) is type(expected)
    finally:
        loader.dispose()


KEYS = st.sampled_from(["a", "b", "c", "<<", "1", "yes", "[x]", "{y: 1}"])
LEAVES = st.sampled_from(["x", "1", "017", "2.5", "~", "*m", "[1, *m]", "{a: 1}", "!!int z"])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(KEYS, LEAVES), max_size=5), st.lists(st.tuples(KEYS, LEAVES), max_size=3))
def test_the_one_pass_over_a_mapping_reads_what_pairs_read(
    top: list[tuple[str, str]], inner: list[tuple[str, str]]
) -> None:
    """`_Walker.plain_mapping` (one pass, when every key is plain and once) gives the
    value, problems and errors that `pairs` then the values give."""
    from shotbuild.spec import yamlpos

    body = ", ".join(f"{k}: {v}" for k, v in inner)
    text = f"m: &m {{{body}}}\n" + "".join(f"{k}: {v}\n" for k, v in top)

    def read() -> object:
        try:
            parsed = yamlpos.parse(text)
        except yamlpos.YamlSyntaxError as e:
            return ("error", e.position, e.message)
        return parsed.value, parsed.problems

    ours = read()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlpos, "_plain_keys", lambda node: False)
        assert read() == ours
