"""Rules the schema cannot express, checked on each shot after defaults are
merged: the media budget, local files, base64 data, URLs. Each rule yields
(path of the offending value, one-line message); all of them run."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shotbuild import untrusted
from shotbuild.spec.merge import MergedShot
from shotbuild.spec.model import MediaKind
from shotbuild.spec.problems import JsonPath
from shotbuild.untrusted import windows_reserved

MAX_VIDEOS = 3
MAX_IMAGES = 9
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mov", ".m4v"})

Found = Iterator[tuple[JsonPath, str]]


def reference_kind(ref: Mapping[str, Any]) -> MediaKind | None:
    """image or video: from `media`, else the url's or path's extension, else the
    base64 `media_type`; None when it cannot be told."""
    media = ref.get("media")
    if media in ("image", "video"):
        return "image" if media == "image" else "video"
    where = ref.get("url") or ref.get("path")
    if isinstance(where, str):
        text = where.partition("?")[0].partition("#")[0] if ref.get("type") == "url" else where
        suffix = _suffix(text.replace("\\", "/")).lower()
        if suffix in IMAGE_SUFFIXES:
            return "image"
        if suffix in VIDEO_SUFFIXES:
            return "video"
    media_type = ref.get("media_type")
    if isinstance(media_type, str):
        major = media_type.partition("/")[0]
        if major in ("image", "video"):
            return "image" if major == "image" else "video"
    return None


def _suffix(text: str) -> str:
    """PurePosixPath(text).suffix, without building a path (run for every reference
    of every shot on each load)."""
    name = next((part for part in reversed(text.split("/")) if part and part != "."), "")
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def check(shot: MergedShot, root: Path) -> Found:
    """Every rule on one merged shot; `root` is the spec's folder, resolved.
    Values the schema rejected are skipped, not trusted."""
    fields = shot.fields
    if "references" not in fields and "callback_url" not in fields:  # most shots
        looks = fields.get("avatar_id")
        if not isinstance(looks, list) or len(looks) <= MAX_IMAGES:
            return  # nothing below would yield: no reference, no URL, looks in budget
    yield from _budget(shot)
    for i, ref in _references(shot):
        ref_type = ref.get("type")
        check_ref = _REFERENCE_RULES.get(ref_type) if isinstance(ref_type, str) else None
        if check_ref is not None:
            for sub, message in check_ref(ref, root):
                yield shot.where("references", i, *sub), message
    yield from _url(shot.fields.get("callback_url"), shot.where, "callback_url")


def names(shots: Iterable[str]) -> Found:
    """Shot names that differ only in case: their outputs would be one file on
    macOS and Windows (yields the path of each later one); and names Windows keeps
    for devices (CON, nul, COM1...), whose output could not be written there."""
    first: dict[str, str] = {}
    for name in shots:
        if windows_reserved(name):
            yield (
                ("shots", name),
                f"{name}: is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9);"
                " rename the shot",
            )
        seen = first.setdefault(name.casefold(), name)
        if seen != name:
            yield (
                ("shots", name),
                f"{name}: differs from shot {seen} only in case; their outputs would "
                "collide on case-insensitive file systems",
            )


def build_dir(value: Any, root: Path) -> Found:
    """`build_dir` must stay inside the spec's folder (`root`, resolved): outputs
    are written and removed there, and a spec may come in a pull request."""
    if not isinstance(value, str):
        return
    where = ("build_dir",)
    shown = printable_value(value)
    if "\x00" in value:
        yield where, f"build_dir: {shown} holds a NUL byte; give a folder name"
        return
    if os.path.isabs(value) or value.startswith(("/", "\\")) or ":" in value[:3]:
        yield where, f"build_dir: {shown} is absolute; write it relative to the spec's folder"
        return
    try:
        target = (root / value).resolve()
    except (OSError, RuntimeError, ValueError) as e:
        yield where, f"build_dir: {shown} cannot be used as a folder ({e})"
        return
    if target != root and not target.is_relative_to(root):
        yield where, f"build_dir: {shown} is outside the spec's folder; keep it inside"


def printable_value(value: str, limit: int = 80) -> str:
    return untrusted.one_line(value, limit)


def _references(shot: MergedShot) -> list[tuple[int, dict[str, Any]]]:
    refs = shot.fields.get("references")
    if not isinstance(refs, list):
        return []
    return [(i, ref) for i, ref in enumerate(refs) if isinstance(ref, dict)]


def _budget(shot: MergedShot) -> Found:
    looks = shot.fields.get("avatar_id")
    images, videos = len(looks) if isinstance(looks, list) else 0, 0
    for i, ref in _references(shot):
        kind = reference_kind(ref)
        if kind is None:
            yield (
                shot.where("references", i),
                f"references[{i}]: cannot tell whether this {ref.get('type')} reference is "
                "an image or a video; add media: image or media: video",
            )
        elif kind == "image":
            images += 1
        else:
            videos += 1
    if videos > MAX_VIDEOS:
        yield (
            shot.where("references"),
            f"{shot.name}: {videos} videos over the media budget of {MAX_VIDEOS}; "
            "remove some video references",
        )
    if images > MAX_IMAGES:
        yield (
            shot.where("references" if "references" in shot.fields else "avatar_id"),
            f"{shot.name}: {images} images (looks count as images) over the media budget "
            f"of {MAX_IMAGES}; remove some image references",
        )


def _file(ref: Mapping[str, Any], root: Path) -> Iterator[tuple[tuple[str, ...], str]]:
    written = ref.get("path")
    if not isinstance(written, str) or not written:
        return
    where = ("path",)
    if os.path.isabs(written) or written.startswith(("/", "\\")) or ":" in written[:3]:
        yield where, f"path: {written} is absolute; write it relative to the spec's folder"
        return
    try:
        problem = _file_problem(root, written)
    except (OSError, ValueError, RuntimeError) as e:  # NUL bytes, names too long, loops
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        problem = f"cannot be used as a file ({reason})"
    if problem:
        yield where, f"path: {written!s:.80} {problem}"


def _file_problem(root: Path, written: str) -> str | None:
    target = (root / written).resolve()
    if not target.is_relative_to(root):
        return "is outside the spec's folder; keep references inside it"
    if not target.exists():
        return "does not exist"
    if target.is_dir():
        return "is a folder; give a file"
    if not os.access(target, os.R_OK):
        return "cannot be read (permission denied)"
    return _opens_as_build_reads_it(root, written)


def _opens_as_build_reads_it(root: Path, written: str) -> str | None:
    """The file opened as plan and build will open it (no link followed, only a
    regular file), so validate says what they would."""
    from shotbuild.fs import NotARegularFile, open_regular

    try:
        open_regular(root / written, root).close()
    except NotARegularFile as e:
        return str(e).split(": ", 1)[-1]
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    return None


def _base64(ref: Mapping[str, Any], root: Path) -> Iterator[tuple[tuple[str, ...], str]]:
    data = ref.get("data")
    if isinstance(data, str) and data and decode_base64(data) is None:
        yield ("data",), "data: not valid base64; encode the file with `base64 -w0 FILE`"


def decode_base64(text: str) -> bytes | None:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def _url_ref(ref: Mapping[str, Any], root: Path) -> Iterator[tuple[tuple[str, ...], str]]:
    for path, message in _url(ref.get("url"), lambda *p: p, "url"):
        yield tuple(str(p) for p in path), message


def _url(value: Any, where: Callable[..., JsonPath], name: str) -> Found:
    if not isinstance(value, str):
        return
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a broken [IPv6] host
        ok = False
    if not ok:
        yield where(name), f"{name}: {value!s:.60} is not an http:// or https:// URL"


_REFERENCE_RULES: dict[
    str, Callable[[Mapping[str, Any], Path], Iterator[tuple[tuple[str, ...], str]]]
] = {
    "file": _file,
    "base64": _base64,
    "url": _url_ref,
}
