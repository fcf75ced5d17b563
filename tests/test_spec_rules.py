"""Semantic rules: checked after defaults are merged, each with its own message."""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest

from shotbuild.spec import check_file, load_spec
from shotbuild.spec.rules import reference_kind


def spec_in(folder: Path, text: str) -> Path:
    path = folder / "shots.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


def messages(path: Path) -> list[str]:
    return [f"{p.line}:{p.col}: {p.message}" for p in check_file(path)]


def refs_spec(folder: Path, refs: list[str], looks: str = "[l]") -> Path:
    body = "".join(f"      - {r}\n" for r in refs)
    return spec_in(
        folder, f"shots:\n  a:\n    prompt: p\n    avatar_id: {looks}\n    references:\n{body}"
    )


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        ({"type": "url", "url": "https://x.example/a.MP4"}, "video"),
        ({"type": "url", "url": "https://x.example/a.webm?sig=1#t"}, "video"),
        ({"type": "url", "url": "https://x.example/a.jpg?x=.mp4"}, "image"),
        ({"type": "url", "url": "https://x.example/a.png", "media": "video"}, "video"),
        ({"type": "file", "path": "refs/a.jpeg"}, "image"),
        ({"type": "base64", "media_type": "video/mp4", "data": "AA=="}, "video"),
        ({"type": "base64", "media_type": "image/png", "data": "AA=="}, "image"),
        ({"type": "asset_id", "asset_id": "ast", "media": "image"}, "image"),
        ({"type": "asset_id", "asset_id": "ast"}, None),
        ({"type": "url", "url": "https://x.example/stream"}, None),
    ],
)
def test_reference_kind(ref: dict[str, str], kind: str | None) -> None:
    assert reference_kind(ref) == kind


def test_media_budget_counts_looks_as_images(tmp_path: Path) -> None:
    images = [f'{{type: url, url: "https://x.example/{i}.png"}}' for i in range(7)]
    assert messages(refs_spec(tmp_path, images, "[a, b]")) == []  # 2 looks + 7 images = 9
    path = refs_spec(tmp_path, images, "[a, b, c]")
    assert messages(path) == [
        "6:7: a: 10 images (looks count as images) over the media budget of 9; "
        "remove some image references"
    ]


def test_media_budget_videos(tmp_path: Path) -> None:
    videos = [f'{{type: url, url: "https://x.example/{i}.mp4"}}' for i in range(4)]
    assert messages(refs_spec(tmp_path, videos[:3])) == []
    assert messages(refs_spec(tmp_path, videos)) == [
        "6:7: a: 4 videos over the media budget of 3; remove some video references"
    ]


def test_media_budget_after_merging_defaults(tmp_path: Path) -> None:
    path = spec_in(
        tmp_path,
        """\
        defaults:
          avatar_id: [a, b, c]
          references:
            - {type: asset_id, asset_id: v1, media: video}
            - {type: asset_id, asset_id: v2, media: video}
            - {type: asset_id, asset_id: v3, media: video}
        shots:
          inherits: {prompt: p}
          replaces:
            prompt: p
            references: [{type: asset_id, asset_id: v4, media: video}]
        """,
    )
    assert messages(path) == []
    spec = load_spec(path)
    assert [len(s.references) for s in spec.shots] == [3, 1]


def test_a_kind_that_cannot_be_told_asks_for_media(tmp_path: Path) -> None:
    path = refs_spec(tmp_path, ["{type: asset_id, asset_id: ast_1}"])
    assert messages(path) == [
        "6:9: references[0]: cannot tell whether this asset_id reference is an image or a "
        "video; add media: image or media: video"
    ]


def test_file_references(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "refs" / "dir.png").mkdir(parents=True)
    (project / "refs" / "ok.png").write_bytes(b"png")
    (tmp_path / "secret.png").write_bytes(b"secret")
    (project / "refs" / "escape.png").symlink_to(tmp_path / "secret.png")
    (project / "refs" / "inside.png").symlink_to(project / "refs" / "ok.png")
    path = refs_spec(
        project,
        [
            "{type: file, path: refs/ok.png}",
            "{type: file, path: refs/inside.png}",
            "{type: file, path: ./refs/../refs/ok.png}",
            "{type: file, path: refs/missing.png}",
            "{type: file, path: refs/dir.png}",
            "{type: file, path: ../secret.png}",
            "{type: file, path: refs/escape.png}",
            f"{{type: file, path: {tmp_path / 'secret.png'}}}",
        ],
    )
    assert messages(path) == [  # a link is refused even inside: it is read without following
        "7:28: path: refs/inside.png is or goes through a symbolic link; give the file itself",
        "9:28: path: refs/missing.png does not exist",
        "10:28: path: refs/dir.png is a folder; give a file",
        "11:28: path: ../secret.png is outside the spec's folder; keep references inside it",
        "12:28: path: refs/escape.png is outside the spec's folder; keep references inside it",
        f"13:28: path: {tmp_path / 'secret.png'} is absolute; write it relative to the spec's "
        "folder",
    ]


def test_unreadable_file_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locked.png").write_bytes(b"png")
    path = refs_spec(tmp_path, ["{type: file, path: locked.png}"])
    if os.geteuid() == 0:  # root reads anything: answer as the OS would for a user
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: False if str(p).endswith("locked.png") else real(p, mode)
        )
    else:
        (tmp_path / "locked.png").chmod(0)
    assert messages(path) == ["6:28: path: locked.png cannot be read (permission denied)"]


def test_the_spec_folder_is_found_through_a_symlinked_spec_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "refs").mkdir(parents=True)
    (real / "refs" / "a.png").write_bytes(b"png")
    refs_spec(real, ["{type: file, path: refs/a.png}"])
    (tmp_path / "link").symlink_to(real)
    assert check_file(tmp_path / "link" / "shots.yaml") == []


def test_base64_must_decode(tmp_path: Path) -> None:
    path = refs_spec(
        tmp_path,
        [
            "{type: base64, media_type: image/png, data: aGVsbG8=}",
            '{type: base64, media_type: image/png, data: "aGVs\\nbG8="}',
            "{type: base64, media_type: image/png, data: not*base64}",
            "{type: base64, media_type: image/png, data: aGVsbG8}",
        ],
    )
    message = "not valid base64; encode the file with `base64 -w0 FILE`"
    assert messages(path) == [f"8:53: data: {message}", f"9:53: data: {message}"]


def test_urls_must_be_http(tmp_path: Path) -> None:
    path = spec_in(
        tmp_path,
        """\
        shots:
          a:
            prompt: p
            avatar_id: [l]
            callback_url: "http://[::1/hook"
            references: [{type: url, url: "https://[bad/a.png"}]
          b: {prompt: p, avatar_id: [l], callback_url: "https://hooks.example.com/x"}
        """,
    )
    assert messages(path) == [
        "5:19: callback_url: http://[::1/hook is not an http:// or https:// URL",
        "6:35: url: https://[bad/a.png is not an http:// or https:// URL",
    ]


def test_a_bad_default_is_reported_once(tmp_path: Path) -> None:
    path = spec_in(
        tmp_path,
        """\
        defaults:
          avatar_id: [l]
          references: [{type: file, path: nope.png}]
        shots:
          a: {prompt: p}
          b: {prompt: q}
        """,
    )
    assert messages(path) == ["3:35: path: nope.png does not exist"]


def test_names_that_differ_only_in_case(tmp_path: Path) -> None:
    path = spec_in(
        tmp_path,
        """\
        defaults: {prompt: p, avatar_id: [l]}
        shots:
          intro: {}
          Intro: {}
          outro: {}
          INTRO: {}
        """,
    )
    message = "differs from shot intro only in case; their outputs would collide on"
    found = messages(path)
    assert [f[: f.index(" on ") + 3] for f in found] == [
        f"4:3: Intro: {message}",
        f"6:3: INTRO: {message}",
    ]


def test_file_names_that_cannot_be_files(tmp_path: Path) -> None:
    (tmp_path / "loop1.png").symlink_to(tmp_path / "loop2.png")
    (tmp_path / "loop2.png").symlink_to(tmp_path / "loop1.png")
    path = refs_spec(
        tmp_path,
        [
            '{type: file, path: "a\\0b.png"}',
            "{type: file, path: loop1.png}",
            f"{{type: file, path: {'a' * 300}.png}}",
            "{type: file, path: C:/x.png}",
        ],
    )
    found = messages(path)
    assert found[0] == "6:28: path: a\\x00b.png cannot be used as a file (embedded null byte)"
    assert found[1].startswith("7:28: path: loop1.png cannot be used as a file (Symlink loop")
    assert found[2].startswith(f"8:28: path: {'a' * 80} cannot be used as a file (")
    assert found[3] == "9:28: path: C:/x.png is absolute; write it relative to the spec's folder"
