"""The spec's values (shotbuild.value) behave as the frozen dataclasses they
replaced: equality and hash over the compared fields, the same repr, replace,
pickling and copying, and Problem's order."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild.spec.model import Member, Position, Reference, Sequence, Shot, Spec
from shotbuild.spec.problems import Problem, unique


@dataclasses.dataclass(frozen=True)
class OldShot:  # Shot as the dataclass it was
    name: str
    prompt: str
    avatar_id: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    aspect_ratio: str = "16:9"
    resolution: str = "720p"
    duration: int | None = 10
    auto_duration: bool = False
    enhance_prompt: bool = False
    title: str | None = None
    callback_url: str | None = None
    api_type: str = "cinematic_avatar"
    takes: int = 1


@dataclasses.dataclass(frozen=True, order=True)
class OldProblem:
    file: str
    line: int
    col: int
    message: str


texts = st.text(max_size=5)
shots = st.builds(
    dict,
    name=texts,
    prompt=texts,
    avatar_id=st.lists(texts, max_size=2).map(tuple),
    duration=st.none() | st.integers(0, 3),
    title=st.none() | texts,
    takes=st.integers(1, 3),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shots, shots)
def test_a_shot_compares_hashes_and_shows_as_the_dataclass_did(a: Any, b: Any) -> None:
    new_a, new_b, old_a, old_b = Shot(**a), Shot(**b), OldShot(**a), OldShot(**b)
    assert (new_a == new_b) == (old_a == old_b)
    assert hash(new_a) == hash(old_a)
    assert repr(new_a) == repr(old_a).replace("OldShot(", "Shot(")
    assert tuple(f.name for f in dataclasses.fields(OldShot)) == Shot.FIELDS
    assert new_a.replace(title="t") == Shot(**{**a, "title": "t"})
    assert new_a != old_a and new_a != tuple(getattr(new_a, n) for n in Shot.FIELDS)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts, st.integers(1, 3), st.integers(1, 3), texts), max_size=8))
def test_problems_sort_and_repeat_as_the_dataclass_did(rows: list[Any]) -> None:
    new = [str(p) for p in unique(Problem(*row) for row in rows)]
    old = sorted(set(OldProblem(*row) for row in rows))
    assert new == [f"{p.file}:{p.line}:{p.col}: {p.message}" for p in old]
    for x, y in itertools.pairwise(rows):
        assert (Problem(*x) < Problem(*y)) == (OldProblem(*x) < OldProblem(*y))
        assert (Problem(*x) >= Problem(*y)) == (OldProblem(*x) >= OldProblem(*y))


def test_a_spec_compares_without_its_positions_and_sha256() -> None:
    shot = Shot("a", "p", ("look",), (Reference("url", url="https://x.test/a.png"),))
    seq = (Sequence("cut", (Member("a", 1.0),), (640, 360)),)
    spec = Spec(Path("/s/shots.yaml"), Path("/s/build"), (shot,), seq, {"x": Position(1, 2)}, "ab")
    same = Spec(Path("/s/shots.yaml"), Path("/s/build"), (shot,), seq)
    assert spec == same and hash(spec) == hash(same) and same.positions == {}
    assert repr(spec) == (
        f"Spec(path={Path('/s/shots.yaml')!r}, build_dir={Path('/s/build')!r},"
        f" shots=({shot!r},), sequences={seq!r})"
    )
    assert spec.replace(sequences=()).sequences == () and spec.replace().positions is spec.positions
    with pytest.raises(TypeError):
        spec.replace(nothing=1)
    for twin in (pickle.loads(pickle.dumps(spec)), copy.deepcopy(spec), copy.copy(spec)):
        assert twin == spec and twin.source_sha256 == "ab" and twin.positions == spec.positions
    assert Position(1, 2) == Position(1, 2) != Position(2, 1) and repr(Position(1, 2)) == (
        "Position(line=1, col=2)"
    )
    assert Position(1, 2) != (1, 2)


def test_loading_a_spec_and_its_keys_imports_no_dataclasses(tmp_path: Path) -> None:
    """`import dataclasses` costs a no-op build ~72M instructions (inspect, ast...):
    the spec, its keys and its requests must not bring it in."""
    import subprocess
    import sys

    (tmp_path / "shots.yaml").write_text("shots:\n  a: {prompt: p, avatar_id: [look]}\n")
    code = (
        "import sys; from pathlib import Path; from shotbuild.spec import load_spec;"
        " from shotbuild.keys import shot_keys; import shotbuild.spec.files;"
        " spec = load_spec(Path('shots.yaml')); shot_keys(spec, 'https://x.test', str);"
        " print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stderr
