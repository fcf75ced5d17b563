"""Bad input fuzz: the spec loader, the lock reader and merge-lock, fed random and
mutated input, never raise anything but shotbuild's own errors (one line for the
user, never a traceback).

    SHOTBUILD_SOAK_EXAMPLES=20000 python -m pytest -m slow tests/soak/test_soak_fuzz.py"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import soak_support as soak
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild.commands.merge_lock import merge_lock
from shotbuild.errors import ShotbuildError
from shotbuild.spec import load_spec
from shotbuild.store.lock import LockEntry, dumps_lock, loads_lock, read_lock

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

EXAMPLES = int(os.environ.get("SHOTBUILD_SOAK_EXAMPLES", "") or 300)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
SEEN: dict[str, int] = {}

VALID_SPEC = """\
version: 1
build_dir: out
x-tall: &tall
  aspect_ratio: "9:16"
defaults:
  avatar_id: [look_a]
  resolution: 1080p
shots:
  intro:
    <<: *tall
    prompt: A founder walks through a sunlit office.
    references:
      - {type: url, url: "https://cdn.example.com/a.mp4"}
      - {type: asset_id, asset_id: ast_1, media: image}
      - {type: file, path: ref.png}
      - {type: base64, media_type: image/png, data: aGVsbG8=}
    duration: 6
    title: Intro
  outro: {prompt: Goodbye., auto_duration: true, enhance_prompt: true}
"""
ENTRY = LockEntry(
    "a" * 64, "v1", "b" * 64, 10, 4.0, "https://api.heygen.com", "2026-01-01T00:00:00Z"
)
VALID_LOCK = dumps_lock({"intro": ENTRY, "outro": ENTRY})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["intro", "shots", "version", "prompt", "file", "../x", "ref.png", "1e400"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(list(ENTRY.to_json())), inner, max_size=5
        )
    ),
    max_leaves=25,
)


@st.composite
def mutated(draw: Any, text: str) -> str:
    """`text` with a few random slices deleted, duplicated or replaced."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        how = draw(st.sampled_from(["delete", "dup", "insert"]))
        if how == "delete":
            text = text[:i] + text[j:]
        elif how == "dup":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.text(max_size=12)) + text[i:]
    return text


def _count(name: str) -> None:
    SEEN[name] = SEEN.get(name, 0) + 1


def _spec_text() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=400),
        mutated(VALID_SPEC).map(lambda t: t.encode("utf-8", "surrogatepass")),
        values.map(lambda v: yaml.safe_dump({"version": 1, "shots": v}).encode()),
        st.dictionaries(st.sampled_from(["intro", "a", "b-1"]), values, max_size=3).map(
            lambda shots: yaml.safe_dump(
                {"version": 1, "shots": shots}, allow_unicode=True
            ).encode()
        ),
    )


@FUZZ
@given(data=_spec_text())
def test_the_spec_loader_raises_only_shotbuild_errors(tmp_path: Path, data: bytes) -> None:
    _count("spec")
    (tmp_path / "ref.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = tmp_path / "shots.yaml"
    path.write_bytes(data)
    message = None
    try:
        load_spec(path)
    except ShotbuildError as e:
        message = str(e)
    assert message is None or (message and "Traceback" not in message)


def _lock_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=300),
        mutated(VALID_LOCK),
        values.map(lambda v: json.dumps(v, allow_nan=True)),
        st.dictionaries(st.text(max_size=8), values, max_size=3).map(
            lambda shots: json.dumps({"format_version": 1, "shots": shots})
        ),
        st.dictionaries(
            st.sampled_from(["intro", "x"]),
            st.fixed_dictionaries({k: values | st.just(v) for k, v in ENTRY.to_json().items()}),
            max_size=2,
        ).map(lambda shots: json.dumps({"format_version": 1, "shots": shots})),
    )


@FUZZ
@given(text=_lock_text())
def test_the_lock_reader_raises_only_lock_errors(text: str) -> None:
    _count("lock")
    try:
        entries = loads_lock(text)
    except ShotbuildError:
        return
    assert loads_lock(dumps_lock(entries)) == entries  # what it accepts, it can write back


@FUZZ
@given(base=_lock_text(), ours=_lock_text(), theirs=_lock_text())
def test_merge_lock_raises_only_shotbuild_errors_and_leaves_a_valid_lock(
    tmp_path: Path, base: str, ours: str, theirs: str
) -> None:
    _count("merge-lock")
    paths = []
    for side, text in (("base", base), ("ours", ours), ("theirs", theirs)):
        path = tmp_path / side
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        paths.append(path)
    try:
        code = merge_lock(*paths)
    except ShotbuildError:
        return
    assert code in (0, 1)
    read_lock(paths[1])  # OURS is a valid lock after any merge that went through


# -- the readers of issue 11: the outputs manifest, remote results, API answers ---------

VALID_MANIFEST = json.dumps(
    {
        "format_version": 1,
        "outputs": {
            "intro.mp4": {
                "shot": "intro",
                "backend": "heygen",
                "key": "a" * 64,
                "sha256": "b" * 64,
                "size": 10,
                "mtime_ns": 1,
                "inode": 2,
                "video_id": "v1",
                "duration": 4.0,
            }
        },
    },
    indent=1,
)


@FUZZ
@given(text=st.one_of(st.text(max_size=300), mutated(VALID_MANIFEST), values.map(json.dumps)))
def test_the_manifest_reader_never_raises_and_keeps_only_safe_paths(
    tmp_path: Path, text: str
) -> None:
    from shotbuild.store.outputs import MANIFEST_NAME, Manifest

    _count("manifest")
    (tmp_path / MANIFEST_NAME).write_text(text, encoding="utf-8", errors="surrogatepass")
    for rel in Manifest(tmp_path).entries:
        assert ".." not in rel.split("/") and not rel.startswith("/")


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=300), mutated(json.dumps(ENTRY.to_json())), values.map(json.dumps)
    )
)
def test_the_remote_result_reader_is_an_entry_or_a_miss(tmp_path: Path, text: str) -> None:
    from shotbuild.store.remote import RemoteCache

    _count("remote result")
    key = ENTRY.key
    folder = tmp_path / "r" / "results" / key[:2]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    entry = RemoteCache.from_url(f"file://{tmp_path / 'r'}", "read").get_result(key)
    assert entry is None or entry.key == key


@FUZZ
@given(text=st.one_of(st.text(max_size=300), values.map(lambda v: json.dumps({"data": v}))))
def test_api_answers_are_values_or_api_errors(text: str) -> None:
    import asyncio

    import httpx

    from shotbuild.heygen import ApiError, HeyGenClient, RetryPolicy

    _count("API answer")

    async def no_sleep(_: float) -> None:
        return None

    async def run() -> None:
        client = HeyGenClient(
            "k" * 20,
            transport=httpx.MockTransport(lambda r: httpx.Response(200, text=text)),
            sleep=no_sleep,
            retry=RetryPolicy(attempts=1),
        )
        async with client:
            for call in (
                lambda: client.create_video({"prompt": "p"}, idempotency_key="k"),
                lambda: client.get_video("v1"),
                client.list_looks,
            ):
                with contextlib.suppress(ApiError):
                    await call()

    asyncio.run(run())


def test_atheris_on_the_spec_loader_and_the_lock_reader(tmp_path: Path) -> None:
    """libFuzzer's coverage-guided mutation, from a valid spec and lock (atheris extra)."""
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "spec").write_bytes(b"\x00" + VALID_SPEC.encode())
    (corpus / "lock").write_bytes(b"\x01" + VALID_LOCK.encode())
    runs = EXAMPLES * 30
    harness = Path(__file__).with_name("atheris_harness.py")
    cmd = [sys.executable, str(harness), f"-runs={runs}", "-seed=7", str(corpus)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=3000, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    last = [line for line in done.stderr.splitlines() if "DONE" in line][-1:]
    SEEN["atheris (spec loader + lock reader)"] = runs
    SEEN.setdefault("_atheris_cov", 0)
    _COVERAGE.extend(last)


_COVERAGE: list[str] = []


def test_zz_report() -> None:
    soak.report(
        "bad input fuzz",
        "hypothesis and atheris, inputs per target: "
        + ", ".join(f"{k} {v}" for k, v in sorted(SEEN.items()) if not k.startswith("_"))
        + (f" (atheris' last line: {_COVERAGE[-1]})" if _COVERAGE else "")
        + " (random bytes, mutated valid files, random YAML/JSON trees): exceptions other than"
        " shotbuild's own = 0",
    )
