"""`review --static DIR`: the page as files that play from file:// with no server.

DIR gets index.html, review.js, review.css, model.js (the view model as one
JavaScript assignment) and the media under media/<shot>/<take>.mp4 (every take
whose bytes are on this machine, and the preview) and refs/<shot>/<index>.<ext>
(a sequence's current cut under cuts/<sequence>/<cut|preview>.mp4). Files of the
build folder are hard-linked where the file system allows it, else copied; a take
found only in the local cache is copied (a link would let an edit of the export
change the cache's blob). Pick controls are disabled there, with a note."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotbuild.errors import ShotbuildError
from shotbuild.fs import atomic_write_bytes, atomic_write_text
from shotbuild.review import asset
from shotbuild.review.model import (
    IMAGE_TYPES,
    PREVIEW,
    Project,
    ReviewError,
    cut_path,
    media_path,
    read_project,
    reference_image,
)
from shotbuild.spec.model import Spec

PAGE_FILES = ("index.html", "review.js", "review.css")


@dataclass(frozen=True)
class Exported:
    index: Path
    videos: int


def export(project: Project, out: Path) -> Exported:
    """Write the static review of `project` into `out` (created; files replaced)."""
    spec, model = read_project(project)
    if spec is None:
        raise ShotbuildError(f"cannot export the review: {model.error}")
    out.mkdir(parents=True, exist_ok=True)
    doc = model.to_json()
    media: dict[str, dict[str, str]] = {}
    refs: dict[str, dict[str, str]] = {}
    for shot in doc["shots"]:
        media[shot["name"]] = _videos(spec, shot, out, project.cache_dir)
        refs[shot["name"]] = _refs(spec, shot, out)
    cuts = {s["name"]: _cut(spec, s, out) for s in doc["sequences"] if s["cut"]}
    config = {"mode": "static", "model": doc, "media": media, "refs": refs, "cuts": cuts}
    text = json.dumps(config, ensure_ascii=True, sort_keys=True).replace("<", "\\u003c")
    script = f"window.REVIEW = {text};\n"  # no "<" at all: no </script> whatever the spec says
    atomic_write_text(out / "model.js", script)
    for name in PAGE_FILES:
        atomic_write_bytes(out / name, asset(name))
    return Exported(out / "index.html", sum(len(m) for m in media.values()) + len(cuts))


def _videos(spec: Spec, shot: dict[str, Any], out: Path, cache_dir: Path | None) -> dict[str, str]:
    names = [str(t["number"]) for t in shot["takes"] if t["available"]]
    names += [PREVIEW] if shot["preview"] else []
    found: dict[str, str] = {}
    for take in names:
        try:
            source = media_path(spec, shot["name"], take, cache_dir)
        except ReviewError:
            continue
        rel = f"media/{shot['name']}/{take}.mp4"
        _place(source, out / rel, link=spec.build_dir in source.parents)
        found[take] = rel
    return found


def _cut(spec: Spec, sequence: dict[str, Any], out: Path) -> str:
    """Place a sequence's current cut at cuts/<sequence>/<kind>.mp4 (its members'
    own files are already under media/: the page plays them in order)."""
    rel = f"cuts/{sequence['name']}/{sequence['cut']}.mp4"
    _place(cut_path(spec, sequence["name"], sequence["cut"]), out / rel)
    return rel


def _refs(spec: Spec, shot: dict[str, Any], out: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    suffixes = {v: k for k, v in IMAGE_TYPES.items()}
    for ref in shot["references"]:
        if not ref["served"]:
            continue
        try:
            data, media_type = reference_image(spec, shot["name"], ref["index"])
        except ReviewError:
            continue
        rel = f"refs/{shot['name']}/{ref['index']}{suffixes.get(media_type, '.img')}"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / rel, data)
        found[str(ref["index"])] = rel
    return found


def _place(source: Path, target: Path, *, link: bool = True) -> None:
    """Hard-link `source` to `target` (when `link` and on the same file system),
    else copy it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        if link:
            os.link(source, target)
            return
    except OSError:
        pass
    shutil.copy2(source, target)
