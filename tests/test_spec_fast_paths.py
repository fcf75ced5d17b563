"""The validate path's shortcuts give the answers of what they replace."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from shotbuild.spec.rules import _suffix, reference_kind
from shotbuild.spec.yamlpos import _may_nest_deeper_than

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
