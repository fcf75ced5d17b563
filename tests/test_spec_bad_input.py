"""Bad input: each gets one-line problems at the right line and column, never
a traceback."""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest

from shotbuild.spec import check_file, load
from shotbuild.spec.problems import Problem

GOOD_SHOT = "{prompt: p, avatar_id: [l]}"


def problems_in(tmp_path: Path, text: str | bytes, name: str = "shots.yaml") -> list[str]:
    """`line:col: message` of each problem in a spec with this text."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(dedent(text), encoding="utf-8")
    found = check_file(path)
    assert all(p.file == str(path) and "\n" not in p.message for p in found)
    return [f"{p.line}:{p.col}: {p.message}" for p in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shots: [\n", ["2:1: not valid YAML: did not find expected node content"]),
        ("shots:\n  a: {prompt: p\n", ["3:1: not valid YAML: did not find expected ',' or '}'"]),
        ("shots:\n\ta: 1\n", ["2:1: a tab character in the YAML; indent with spaces, not tabs"]),
        ("", ["1:1: the file is empty; a spec needs at least `shots:` (`shotbuild init`"]),
        (
            "shots:\n  a: {prompt: p, avatar_id: *looks}\n",
            ["2:29: the alias *looks names no anchor above it; define `&looks` first"],
        ),
        ("# only a comment\n", ["1:1: the file is empty"]),
        ("- a\n- b\n", ["1:1: the spec: must be a mapping, not a list"]),
        ("shots: x\n", ['1:8: shots: must be a mapping, not "x" (a string)']),
        ("shots:\n  a: [1]\n", ["2:6: a: must be a mapping, not a list"]),
        ("shots:\n  a:\n", ["2:5: a: must be a mapping, not empty (null)"]),
        ("shots: {}\n---\nshots: {}\n", ["2:1: more than one YAML document"]),
        (
            "shots: {a: !custom x}\n",
            ['1:12: a: must be a mapping, not "x"', "1:12: could not determine a constructor"],
        ),
        ("x: &a [*a]\nshots: {}\n", ["1:4: an alias refers to a value that contains it"]),
        ("shots: {}\nshots: {}\n", ["2:1: shots: duplicate key (first at line 1)"]),
        ("shots: {}\n[a]: 1\n", ["2:1: a mapping key must be a plain name, not a list or mapping"]),
    ],
)
def test_broken_files(tmp_path: Path, text: str, expected: list[str]) -> None:
    found = problems_in(tmp_path, text)
    assert len(found) == len(expected), found
    for got, want in zip(found, expected, strict=True):
        assert got.startswith(want), found


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "'abc' cannot be read as int"),
        ("!!float x", "'x' cannot be read as float"),
        ("!!timestamp 2020-99-99", "'2020-99-99' cannot be read as timestamp"),
        ("!<tag:yaml.org,2002:int> z", "'z' cannot be read as int"),
        ("!!python/name:os.system x", "could not determine a constructor for the tag"),
    ],
)
def test_explicit_tags_that_do_not_fit(tmp_path: Path, value: str, message: str) -> None:
    found = problems_in(
        tmp_path, f"shots:\n  a: {{prompt: p, avatar_id: [l], duration: {value}}}\n"
    )
    assert any(f.startswith(f"2:44: {message}") for f in found), found


def test_not_utf8_points_at_the_byte(tmp_path: Path) -> None:
    found = problems_in(tmp_path, b"shots:\n  caf\xe9: {}\n")
    assert found == ["2:6: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_a_utf8_bom_is_fine(tmp_path: Path) -> None:
    assert problems_in(tmp_path, f"\ufeffshots: {{a: {GOOD_SHOT}}}\n") == []


def test_unknown_keys_suggest_the_near_name(tmp_path: Path) -> None:
    found = problems_in(
        tmp_path,
        """\
        verison: 1
        shots:
          a:
            promt: hi
            avatar_id: [l]
            references: [{type: url, ulr: "https://x.example/a.png"}]
            zzz: 1
        """,
    )
    assert found == [
        "1:1: verison: unknown key; did you mean version?",
        "3:3: a: missing prompt (set it in this shot or under defaults)",
        "4:5: promt: unknown key; did you mean prompt?",
        "6:18: references[0]: missing required key url",
        "6:30: ulr: unknown key; did you mean url?",
        "7:5: zzz: unknown key; allowed: aspect_ratio, auto_duration, avatar_id, callback_url, "
        "duration, enhance_prompt, prompt, references, resolution, takes, title, type",
    ]


def test_wrong_types_and_ranges(tmp_path: Path) -> None:
    found = problems_in(
        tmp_path,
        """\
        version: "1"
        build_dir: 3
        shots:
          a:
            prompt: 12
            avatar_id: look
            duration: 3
            auto_duration: "yes"
            aspect_ratio: 4:3
            resolution: 4k
            enhance_prompt: 1
            title: ""
          b:
            prompt: "   "
            avatar_id: [a, b, c, d]
            duration: 7.5
          c:
            prompt: p
            avatar_id: [l, l]
            duration: 16
        """,
    )
    assert found == [
        '1:10: version: must be 1 (found "1")',
        "2:12: build_dir: must be a string, not 3 (a number)",
        "5:13: prompt: must be a string, not 12 (a number)",
        '6:16: avatar_id: must be a list, not "look" (a string)',
        "7:15: duration: must be from 4 to 15 (found 3)",
        '8:20: auto_duration: must be true or false, not "yes" (a string)',
        '9:19: aspect_ratio: must be one of 16:9, 9:16, 1:1 (found "4:3")',
        '10:17: resolution: must be one of 720p, 1080p (found "4k")',
        "11:21: enhance_prompt: must be true or false, not 1 (a number)",
        "12:12: title: must not be empty",
        '14:13: prompt: must not be blank (found "   ")',
        "15:16: avatar_id: must have 1-3 items (found 4)",
        "16:15: duration: must be a whole number, not 7.5 (a number)",
        "19:16: avatar_id: lists the same value twice",
        "20:15: duration: must be from 4 to 15 (found 16)",
    ]


def test_prompt_over_10000_characters(tmp_path: Path) -> None:
    found = problems_in(tmp_path, f"shots:\n  a: {{prompt: {'x' * 10001}, avatar_id: [l]}}\n")
    assert found == ["2:15: prompt: must have 1-10000 characters (found 10001)"]


def test_shot_names(tmp_path: Path) -> None:
    long = "a" * 101
    found = problems_in(
        tmp_path,
        "shots:\n" + "".join(f"  {n}: {GOOD_SHOT}\n" for n in ["-a", "a b", long, "ok.1_x-y"]),
    )
    rule = "invalid shot name; use at most 100 letters, digits, '.', '_' or '-', starting with"
    assert [f[: f.index(":", 5) + 2 + len(rule)] for f in found] == [
        f"2:3: -a: {rule}",
        f"3:3: a b: {rule}",
        f"4:3: {'a' * 37}...: {rule}",
    ]


def test_reference_union_errors_are_precise(tmp_path: Path) -> None:
    found = problems_in(
        tmp_path,
        """\
        shots:
          a:
            prompt: p
            avatar_id: [l]
            references:
              - {type: video, url: "https://x.example/a.mp4"}
              - {url: "https://x.example/a.mp4"}
              - {type: url, url: "ftp://x.example/a.mp4"}
              - {type: base64, media_type: text/plain, data: aGk=}
              - {type: file}
              - {type: asset_id, asset_id: ast_1, media: audio}
              - just-a-string
        """,
    )
    assert found == [
        '6:16: type: must be one of url, asset_id, file, base64 (found "video")',
        "7:9: references[1]: missing required key type",
        '8:26: url: must be an http:// or https:// URL (found "ftp://x.example/a.mp4")',
        '9:36: media_type: must be an image/... or video/... media type, e.g. image/png (found "text/plain")',  # noqa: E501
        "10:9: references[4]: missing required key path",
        '11:50: media: must be one of image, video (found "audio")',
        '12:9: references[6]: must be a mapping, not "just-a-string" (a string)',
    ]


def test_duration_with_auto_duration(tmp_path: Path) -> None:
    found = problems_in(
        tmp_path,
        """\
        defaults: {auto_duration: true, duration: 5}
        shots:
          a: {prompt: p, avatar_id: [l], auto_duration: true, duration: 6}
        """,
    )
    message = "duration: not allowed together with auto_duration: true; remove one of them"
    assert found == [f"1:43: {message}", f"3:65: {message}"]


def test_duration_from_defaults_yields_to_the_shot(tmp_path: Path) -> None:
    path = tmp_path / "shots.yaml"
    path.write_text(
        "defaults: {avatar_id: [l], duration: 5}\n"
        "shots:\n  a: {prompt: p, auto_duration: true}\n  b: {prompt: p}\n"
    )
    a, b = load.load_spec(path).shots
    assert (a.duration, a.auto_duration) == (None, True)
    assert (b.duration, b.auto_duration) == (5, False)


def test_every_problem_in_every_part_is_reported(tmp_path: Path) -> None:
    found = problems_in(
        tmp_path,
        """\
        shots:
          a: {prompt: p, avatar_id: [l], duration: 99}
          b: {prompt: p, avatar_id: [l], references: [{type: file, path: missing.png}]}
          c: {prompt: p, avatar_id: [l], resolution: 8k}
          c: {prompt: p, avatar_id: [l]}
        """,
    )
    assert [f.split(":")[0] for f in found] == ["2", "3", "4", "5"]


def test_missing_file(tmp_path: Path) -> None:
    assert check_file(tmp_path / "nope.yaml") == [
        Problem(str(tmp_path / "nope.yaml"), 1, 1, "no such file")
    ]


def test_a_folder_given_as_a_spec(tmp_path: Path) -> None:
    assert [p.message for p in check_file(tmp_path)] == ["is a folder, not a spec file"]


def test_a_pipe_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "shots.yaml")  # opening it would wait for a writer forever
    assert [p.message for p in check_file(tmp_path / "shots.yaml")] == [
        "is not a regular file (a pipe or a device?); give a spec file"
    ]


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shots.yaml"
    path.write_text("shots: {}\n")
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make opening it fail the way it would for a user

        def refuse(self: Path, *args: object, **kwargs: object) -> object:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(Path, "open", refuse)
    assert [p.message for p in check_file(path)] == ["cannot be read (permission denied)"]


def test_a_10_mb_file_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "shots.yaml"
    path.write_bytes(b"shots:\n" + b"# padding\n" * 1_000_000)
    assert [p.message for p in check_file(path)] == [
        "over 8 MiB; split the spec into several files"
    ]


def test_10000_shots_fit_under_the_size_limit(tmp_path: Path) -> None:
    shot = (
        "  shot-{:05d}:\n    prompt: >\n      A founder walks through a sunlit office, gesturing"
        " toward a whiteboard,\n      shot handheld in a documentary style, warm light.\n"
        "    avatar_id: [look_founder, look_cofounder]\n    duration: 8\n"
        "    title: Shot number {}\n"
    )
    text = "version: 1\nshots:\n" + "".join(shot.format(i, i) for i in range(10_000))
    assert len(text.encode()) < load.MAX_BYTES
    path = tmp_path / "shots.yaml"
    path.write_text(text)
    assert len(load.load_spec(path).shots) == 10_000


def test_billion_laughs_stops(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    found = problems_in(tmp_path, "\n".join(lines) + "\nshots: {}\n")
    assert len(found) == 1 and "values; split the spec" in found[0]


@pytest.mark.parametrize(
    "text",
    [
        "shots: " + "[" * 200 + "]" * 200 + "\n",
        # deep enough to overflow the C stack in libyaml's recursive composer
        "shots: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "shots: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n",
        "- " * 100_000 + "x\n",
    ],
)
def test_deep_nesting_stops(tmp_path: Path, text: str) -> None:
    found = problems_in(tmp_path, text)
    assert len(found) == 1 and "nested more than 64 levels deep" in found[0]
