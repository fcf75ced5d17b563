"""The `sequences:` section of a spec: the model, and every rule's error at its
line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotbuild.spec import check_file, load_spec
from shotbuild.spec.model import Member, Sequence

HEAD = """\
defaults:
  avatar_id: [look_a]
shots:
  a: {prompt: one, duration: 5}
  b: {prompt: two, duration: 6}
  tall: {prompt: three, aspect_ratio: "9:16"}
  free: {prompt: four, auto_duration: true}
sequences:
"""


def problems(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "shots.yaml"
    path.write_text(HEAD + body)
    return [f"{p.line}:{p.col}: {p.message}" for p in check_file(path)]


def test_the_model_keeps_members_in_order_with_their_trims(tmp_path: Path) -> None:
    path = tmp_path / "shots.yaml"
    path.write_text(
        HEAD + "  film:\n    shots: [a, {shot: b, in: 1, out: 3}, {shot: b, in: 2.5}]\n"
        "  tall-cut: {shots: [tall, a], size: 1280x720}\n"
    )
    spec = load_spec(path)
    assert spec.sequences == (
        Sequence("film", (Member("a"), Member("b", 1.0, 3.0), Member("b", 2.5, None))),
        Sequence("tall-cut", (Member("tall"), Member("a")), (1280, 720)),
    )


def test_a_spec_without_sequences_has_none(tmp_path: Path) -> None:
    path = tmp_path / "shots.yaml"
    path.write_text(HEAD.replace("sequences:\n", ""))
    assert load_spec(path).sequences == ()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  film: {shots: [a, nope]}\n",
            "9:21: shots[1]: no shot named nope in this spec; list shots defined under shots:",
        ),
        (
            "  film: {shots: [a, bb]}\n",
            "9:21: shots[1]: no shot named bb in this spec; did you mean b?",
        ),
        ("  film: {shots: []}\n", "9:17: shots: must not be empty"),
        ("  film: {shots: [{shot: nope}]}\n", "9:25: shots[0]: no shot named nope in this spec"),
        (
            "  a: {shots: [b]}\n",
            "9:3: a: is also the name of a shot; shots and sequences share one namespace"
            " (build/a.mp4); rename one",
        ),
        ("  B: {shots: [a]}\n", "9:3: B: differs from shot b only in case"),
        ("  film: {shots: [a]}\n  Film: {shots: [b]}\n", "10:3: Film: differs from sequence film"),
        ("  x: {shots: [a]}\n  y: {shots: [x]}\n", "10:15: shots[0]: x is a sequence; a sequence"),
        (
            "  film: {shots: [a, tall]}\n",
            "9:10: film: members have aspect ratios 16:9 (a) and 9:16 (tall); use shots of one "
            "aspect ratio, or set size: WIDTHxHEIGHT to fit them into",
        ),
        ("  film: {shots: [{shot: b, in: 6}]}\n", "9:32: in: 6 is at or past the end of b (6 s)"),
        ("  film: {shots: [{shot: b, out: 7}]}\n", "9:33: out: 7 is past the end of b (6 s)"),
        ("  film: {shots: [{shot: b, in: 3, out: 2}]}\n", "9:40: out: 2 is not after in (3)"),
        ("  film: {shots: [{shot: b, in: -1}]}\n", "9:32: in: must be from 0 to 3600"),
        ("  film: {shots: [{shot: b, inn: 1}]}\n", "9:28: inn: unknown key; did you mean in?"),
        ("  film: {shots: [a], size: 1281x720}\n", "9:28: size: 1281x720 must be even numbers"),
        (
            "  film: {shots: [a], size: big}\n",
            "9:28: size: must be WIDTHxHEIGHT in pixels, e.g. 1280x720",
        ),
        ("  film: {shots: [a], extra: 1}\n", "9:22: extra: unknown key; allowed: shots, size"),
        ("  film: [a, b]\n", "9:9: film: must be a mapping, not a list"),
        ("  -bad: {shots: [a]}\n", "9:3: -bad: invalid shot name"),
    ],
)
def test_each_rule_says_what_and_where(tmp_path: Path, body: str, expected: str) -> None:
    found = problems(tmp_path, body)
    assert any(p.startswith(expected) for p in found), found


def test_size_lets_members_of_several_aspect_ratios_share_a_cut(tmp_path: Path) -> None:
    assert problems(tmp_path, "  film: {shots: [a, tall], size: 1280x720}\n") == []


def test_trims_of_an_auto_duration_shot_are_not_bounded_by_a_guess(tmp_path: Path) -> None:
    assert problems(tmp_path, "  film: {shots: [{shot: free, in: 12, out: 14}]}\n") == []
