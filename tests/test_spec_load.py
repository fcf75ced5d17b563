"""load_spec: the model it builds from a valid spec (defaults, anchors, merge
keys, API defaults, positions)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from shotbuild.spec import Position, Problem, SpecInvalid, check_file, load_spec


def write(folder: Path, text: str, name: str = "shots.yaml") -> Path:
    path = folder / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def test_defaults_anchors_and_api_defaults(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "light.jpg").write_bytes(b"\xff\xd8\xff")
    path = write(
        tmp_path,
        """\
        version: 1
        x-tall: &tall
          aspect_ratio: "9:16"
          resolution: 1080p
        defaults:
          avatar_id: [look_a, look_b]
          duration: 6
          references: [{type: url, url: "https://cdn.example.com/a.mp4"}]
        shots:
          intro:
            <<: *tall
            prompt: "  A founder walks in.  "
            references:
              - {type: file, path: refs/light.jpg}
              - {type: asset_id, asset_id: ast_1, media: video}
              - {type: base64, media_type: image/png, data: "aGVs bG8="}
          outro:
            prompt: Goodbye.
            auto_duration: true
            type: cinematic_avatar
            title: The end
        """,
    )
    spec = load_spec(path)
    assert spec.path == path and spec.path.is_absolute()
    assert spec.build_dir == tmp_path / "build"
    intro, outro = spec.shots
    assert intro.name == "intro" and intro.prompt == "A founder walks in."
    assert intro.avatar_id == ("look_a", "look_b")
    assert (intro.aspect_ratio, intro.resolution, intro.duration) == ("9:16", "1080p", 6)
    assert [r.kind for r in intro.references] == ["image", "video", "image"]
    assert intro.references[0].path == "refs/light.jpg"
    assert intro.references[2].data == "aGVsbG8="  # white space dropped
    assert intro.api_type == "cinematic_avatar" and intro.title is None  # HeyGen's current name
    # the shot's auto_duration wins over the inherited duration; lists replace
    assert outro.duration is None and outro.auto_duration is True
    assert outro.api_type == "cinematic_avatar" and outro.title == "The end"
    assert [r.url for r in outro.references] == ["https://cdn.example.com/a.mp4"]
    assert (outro.aspect_ratio, outro.resolution) == ("16:9", "720p")
    assert spec.positions["shots/intro/prompt"] == Position(12, 13)
    assert spec.positions["shots/intro/aspect_ratio"] == Position(3, 17)  # the anchor
    assert spec.positions["shots/outro/avatar_id/1"] == Position(6, 23)  # from defaults
    assert spec.positions["shots/outro"] == Position(17, 3)


def test_omitting_a_field_and_writing_its_default_are_the_same_shot(tmp_path: Path) -> None:
    short = write(tmp_path, "shots: {a: {prompt: p, avatar_id: [l]}}\n", "a.yaml")
    full = write(
        tmp_path,
        """\
        version: 1
        shots:
          a:
            prompt: "p\\n"
            avatar_id: [l]
            aspect_ratio: "16:9"
            resolution: 720p
            duration: 10
            auto_duration: false
            enhance_prompt: false
            type: cinematic_avatar
        """,
        "b.yaml",
    )
    assert load_spec(short).shots == load_spec(full).shots


def test_build_dir_is_relative_to_the_spec(tmp_path: Path) -> None:
    path = write(tmp_path, "build_dir: out/videos\nshots: {}\n")
    assert load_spec(path).build_dir == tmp_path / "out" / "videos"
    assert load_spec(path).shots == ()


def test_shot_order_is_file_order(tmp_path: Path) -> None:
    names = ["zeta", "alpha", "m.1", "0-b"]
    body = "".join(f"  {n}: {{prompt: p, avatar_id: [l]}}\n" for n in names)
    path = write(tmp_path, "shots:\n" + body)
    assert [s.name for s in load_spec(path).shots] == names


def test_invalid_spec_raises_with_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        shots:
          a:
            promt: hi
            avatar_id: [l]
          b:
            prompt: hi
            avatar_id: [l]
            duration: 99
        """,
    )
    with pytest.raises(SpecInvalid) as caught:
        load_spec(path)
    problems = caught.value.problems
    assert problems == check_file(path)
    assert [(p.line, p.col) for p in problems] == [(2, 3), (3, 5), (8, 15)]
    assert str(caught.value).splitlines() == [str(p) for p in problems]
    assert str(problems[1]) == f"{path}:3:5: promt: unknown key; did you mean prompt?"
    assert isinstance(problems[0], Problem) and caught.value.exit_code == 1


def test_valid_spec_has_no_problems(tmp_path: Path) -> None:
    assert check_file(write(tmp_path, "shots: {a: {prompt: p, avatar_id: [l]}}\n")) == []


def test_positions_survive_pickling_and_copying(tmp_path: Path) -> None:
    import copy
    import pickle

    spec = load_spec(write(tmp_path, "shots: {a: {prompt: p, avatar_id: [l]}}\n"))
    expected = {
        "shots/a": Position(1, 9),
        "shots/a/prompt": Position(1, 21),
        "shots/a/avatar_id": Position(1, 35),
        "shots/a/avatar_id/0": Position(1, 36),
    }
    assert pickle.loads(pickle.dumps(spec)).positions == expected
    assert copy.deepcopy(spec).positions == expected
    assert dict(spec.positions) == expected and len(spec.positions) == 4


def test_merge_keys_follow_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        x-a: &a {resolution: 1080p, aspect_ratio: "9:16", duration: 4}
        x-b: &b {resolution: 720p, aspect_ratio: "1:1", enhance_prompt: true}
        defaults:
          <<: *b
          avatar_id: [l]
        shots:
          one:
            <<: [*a, *b]      # the earlier mapping wins
            prompt: p
            duration: 5       # the shot's own key wins
          two: {prompt: q}
        """,
    )
    one, two = load_spec(path).shots
    assert (one.resolution, one.aspect_ratio, one.duration) == ("1080p", "9:16", 5)
    assert one.enhance_prompt is True
    assert (two.resolution, two.aspect_ratio, two.enhance_prompt) == ("720p", "1:1", True)


def test_a_merge_key_needs_mappings(tmp_path: Path) -> None:
    path = write(tmp_path, "x-s: &s [1]\nshots:\n  a: {<<: *s, prompt: p, avatar_id: [l]}\n")
    assert [str(p).split(": ", 1)[1] for p in check_file(path)] == [
        "<<: a merge key takes a mapping (an alias like *base) or a list of them"
    ]
