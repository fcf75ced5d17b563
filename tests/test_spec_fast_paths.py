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
