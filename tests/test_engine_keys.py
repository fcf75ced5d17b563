"""Keys: what makes a shot changed, and what does not."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import make_shot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild.keys import (
    KEY_FORMAT,
    StatCachedHasher,
    _usual_key_text,
    canonical_json,
    diff_requests,
    key_of,
    request_of,
    sha256_file,
)
from shotbuild.spec.model import Reference


def hasher() -> tuple[StatCachedHasher, dict[str, tuple[int, int, int, str]]]:
    memory: dict[str, tuple[int, int, int, str]] = {}
    return StatCachedHasher(memory.get, memory.__setitem__), memory


def key(shot: object, root: Path = Path("."), backend: str = "https://api.heygen.com") -> str:
    h, _ = hasher()
    return key_of(backend, request_of(shot, root, h))  # type: ignore[arg-type]


def test_defaults_prompt_space_title_and_callback_do_not_change_the_key() -> None:
    base = make_shot("a", "A walk.")
    assert key(base) == key(make_shot("a", "  A walk.\n", resolution="720p", aspect_ratio="16:9"))
    assert key(base) == key(base.replace(title="T", callback_url="https://x.test"))
    assert key(base) == key(base.replace(name="renamed"))
    # HeyGen's two names of the Avatar Shots model are one key
    assert key(base) == key(base.replace(api_type="cinematic_avatar"))


def test_what_decides_the_pixels_changes_the_key() -> None:
    base = make_shot("a", "A walk.")
    changes = [
        {"prompt": "A run."},
        {"duration": 5},
        {"resolution": "1080p"},
        {"aspect_ratio": "9:16"},
        {"enhance_prompt": True},
        {"auto_duration": True, "duration": None},
        {"avatar_id": ("look_other",)},
        {"api_type": "studio"},
        {"references": (Reference(type="url", url="https://cdn.test/a.mp4"),)},
    ]
    keys = {key(base.replace(**change)) for change in changes}  # type: ignore[arg-type]
    assert len(keys) == len(changes) and key(base) not in keys


def test_backend_identity_is_in_the_key() -> None:
    shot = make_shot("a")
    assert (
        len({key(shot), key(shot, backend="http://127.0.0.1:8080"), key(shot, backend="preview:1")})
        == 3
    )


def test_references_by_identity_file_and_base64_of_the_same_bytes_agree(tmp_path: Path) -> None:
    data = b"\x89PNG some image bytes"
    (tmp_path / "a.png").write_bytes(data)
    by_file = make_shot("a", references=(Reference(type="file", path="a.png"),))
    by_data = make_shot(
        "a",
        references=(
            Reference(type="base64", media_type="image/png", data=base64.b64encode(data).decode()),
        ),
    )
    assert key(by_file, tmp_path) == key(by_data, tmp_path)
    (tmp_path / "a.png").write_bytes(data + b"!")
    assert key(by_file, tmp_path) != key(by_data, tmp_path)


def test_a_local_file_is_read_again_only_when_its_stat_changes(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"one")
    h, _ = hasher()
    assert h(path) == sha256_file(path) and h.reads == 1
    assert h(path) == sha256_file(path) and h.reads == 1
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched, same bytes
    assert h(path) == sha256_file(path) and h.reads == 2


def test_diff_names_fields_and_list_items() -> None:
    old = {"prompt": "a", "references": [{"url": "x"}, {"url": "y"}], "duration": 10}
    new = {"prompt": "b", "references": [{"url": "x"}, {"url": "z"}, {"url": "w"}]}
    assert diff_requests(old, new) == ["duration", "prompt", "references[1]", "references[2]"]


TEXT = st.text(max_size=6) | st.sampled_from(['é\n"x\\', "\x00\u2028", "\ud800", "16:9"])
USUAL = st.fixed_dictionaries(
    {
        "type": TEXT,
        "prompt": TEXT,
        "avatar_id": st.lists(TEXT, max_size=3),
        "aspect_ratio": TEXT,
        "resolution": TEXT,
        "enhance_prompt": st.booleans(),
        "auto_duration": st.booleans(),
        "references": st.lists(st.dictionaries(TEXT, TEXT, max_size=3), max_size=2),
    },
    optional={"duration": st.integers(-(10**20), 10**20)},
)
ODD = (
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT | st.lists(TEXT | st.integers())
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    USUAL,
    st.dictionaries(st.sampled_from(["duration", "prompt", "avatar_id", "references", "x"]), ODD),
    st.sets(st.sampled_from(["duration", "type", "references"])),
    TEXT,
)
def test_a_key_is_the_sha256_of_the_canonical_json_of_its_document(
    usual: dict[str, Any], odd: dict[str, Any], dropped: set[str], identity: str
) -> None:
    """key_of writes the document of a usual request itself (_usual_key_text); every
    request, usual or not, gets the key of canonical_json's text."""
    for request in (usual, {**usual, **odd}, {k: v for k, v in usual.items() if k not in dropped}):
        doc = {"v": KEY_FORMAT, "backend": identity, "request": request}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        expected = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        try:
            got = key_of(identity, request)
        except UnicodeEncodeError:  # a lone surrogate: neither way makes a key of it
            with pytest.raises(UnicodeEncodeError):
                canonical_json(doc).encode("utf-8")
            continue
        assert got == expected
    assert _usual_key_text(identity, usual) is not None  # the written-out way was taken
