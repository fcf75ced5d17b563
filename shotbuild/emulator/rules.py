"""The documented rules of an Avatar Shots create body (HeyGen's table, nothing
more): the first broken rule is answered 400 with HeyGen's error shape and `param`.
Fields the table does not name are ignored, as the documentation is silent on them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shotbuild.emulator.config import TYPE_NAMES

TYPES = TYPE_NAMES
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
RESOLUTIONS = ("720p", "1080p")
MAX_PROMPT = 10_000
MAX_LOOKS = 3
MAX_VIDEOS = 3
MAX_IMAGES = 9
MIN_DURATION, MAX_DURATION = 4, 15
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".m4v")
REFERENCE_FIELDS = {"url": "url", "asset_id": "asset_id", "base64": "data"}


@dataclass(eq=False)
class Rejection(Exception):
    """One broken rule, as HeyGen answers it."""

    message: str
    param: str | None = None
    code: str = "invalid_parameter"
    status: int = 400

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def check_create(
    body: object,
    *,
    asset_kind: Callable[[str], str | None] = lambda _id: None,
    known_look: Callable[[str], bool] = lambda _id: True,
    known_asset: Callable[[str], bool] = lambda _id: True,
) -> dict[str, Any]:
    """`body` with its null fields dropped (null means absent), or the first Rejection
    it earns. `asset_kind` gives an uploaded asset's media kind ("image"/"video") or
    None when unknown; `known_look`/`known_asset` say whether an id exists (the
    emulator's strict mode: unknown ids are 400s)."""
    if not isinstance(body, dict):
        raise Rejection("the request body must be a JSON object")
    body = {name: value for name, value in body.items() if value is not None}
    kind = body.get("type")
    if kind is None:
        raise Rejection("type is required", "type")
    if kind not in TYPES:
        raise Rejection(f"type must be one of {', '.join(TYPES)}", "type")
    _prompt(body)
    looks = _avatar_ids(body, known_look)
    references = _references(body.get("references"), known_asset)
    _enum(body, "aspect_ratio", ASPECT_RATIOS)
    _enum(body, "resolution", RESOLUTIONS)
    _duration(body)
    for name in ("auto_duration", "enhance_prompt"):
        if name in body and not isinstance(body[name], bool):
            raise Rejection(f"{name} must be a boolean", name)
    if "title" in body and not isinstance(body["title"], str):
        raise Rejection("title must be a string", "title")
    if "callback_url" in body and not _http_url(body["callback_url"]):
        raise Rejection("callback_url must be an http(s) URL", "callback_url")
    _budget(len(looks), references, asset_kind)
    return body


def _prompt(body: Mapping[str, Any]) -> None:
    prompt = body.get("prompt")
    if prompt is None:
        raise Rejection("prompt is required", "prompt")
    if not isinstance(prompt, str):
        raise Rejection("prompt must be a string", "prompt")
    if not 1 <= len(prompt) <= MAX_PROMPT:
        raise Rejection(f"prompt must be 1-{MAX_PROMPT:,} characters", "prompt")


def _avatar_ids(body: Mapping[str, Any], known_look: Callable[[str], bool]) -> list[str]:
    looks = body.get("avatar_id")
    if looks is None:
        raise Rejection("avatar_id is required", "avatar_id")
    if not isinstance(looks, list) or not 1 <= len(looks) <= MAX_LOOKS:
        raise Rejection(f"avatar_id must be an array of 1-{MAX_LOOKS} look IDs", "avatar_id")
    for i, look in enumerate(looks):
        if not isinstance(look, str) or not look:
            raise Rejection("each avatar_id must be a non-empty string", f"avatar_id[{i}]")
        if not known_look(look):
            raise Rejection(
                f"avatar look {look!r} not found", f"avatar_id[{i}]", code="avatar_not_found"
            )
    return looks


def _references(
    refs: object, known_asset: Callable[[str], bool]
) -> list[tuple[str, dict[str, Any]]]:
    """[(param, reference)] after checking each reference's shape."""
    if refs is None:
        return []
    if not isinstance(refs, list):
        raise Rejection("references must be an array", "references")
    checked = []
    for i, ref in enumerate(refs):
        param = f"references[{i}]"
        if not isinstance(ref, dict):
            raise Rejection("each reference must be an object", param)
        kind = ref.get("type")
        if kind not in REFERENCE_FIELDS:
            raise Rejection("reference type must be url, asset_id or base64", f"{param}.type")
        value = ref.get(REFERENCE_FIELDS[kind])
        if not isinstance(value, str) or not value:
            raise Rejection(f"a {kind} reference needs {REFERENCE_FIELDS[kind]}", param)
        if kind == "url" and not _http_url(value):
            raise Rejection("url must be an http(s) URL", f"{param}.url")
        if kind == "base64":
            _base64(ref, param)
        if kind == "asset_id" and not known_asset(value):
            raise Rejection(f"asset {value!r} not found", f"{param}.asset_id", "asset_not_found")
        media = ref.get("media")
        if media is not None and media not in ("image", "video"):
            raise Rejection("media must be image or video", f"{param}.media")
        checked.append((param, ref))
    return checked


def _base64(ref: Mapping[str, Any], param: str) -> None:
    media_type = ref.get("media_type")
    if not isinstance(media_type, str) or not media_type.startswith(("image/", "video/")):
        raise Rejection("media_type must be an image/* or video/* type", f"{param}.media_type")
    try:
        base64.b64decode(ref["data"], validate=True)
    except (binascii.Error, ValueError):
        raise Rejection("data is not valid base64", f"{param}.data") from None


def _enum(body: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    if name in body and body[name] not in allowed:
        raise Rejection(f"{name} must be one of {', '.join(allowed)}", name)


def _duration(body: Mapping[str, Any]) -> None:
    if "duration" not in body:
        return
    duration = body["duration"]
    if body.get("auto_duration") is True:
        raise Rejection("omit duration when auto_duration is true", "duration")
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise Rejection("duration must be an integer", "duration")
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise Rejection(f"duration must be {MIN_DURATION}-{MAX_DURATION} seconds", "duration")


def _http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def media_kind(ref: Mapping[str, Any], asset_kind: Callable[[str], str | None]) -> str:
    """image or video: from `media`, else the asset's type, URL extension or media_type."""
    if ref.get("media") in ("image", "video"):
        return str(ref["media"])
    if ref["type"] == "asset_id":
        return asset_kind(ref["asset_id"]) or "image"
    if ref["type"] == "base64":
        return "video" if ref["media_type"].startswith("video/") else "image"
    return "video" if urlsplit(ref["url"]).path.lower().endswith(VIDEO_EXTENSIONS) else "image"


def _budget(
    looks: int,
    refs: list[tuple[str, dict[str, Any]]],
    asset_kind: Callable[[str], str | None],
) -> None:
    kinds = [media_kind(ref, asset_kind) for _, ref in refs]
    videos, images = kinds.count("video"), looks + kinds.count("image")
    if videos > MAX_VIDEOS or images > MAX_IMAGES:
        raise Rejection(
            f"at most {MAX_VIDEOS} videos and {MAX_IMAGES} images in total across avatar_id "
            f"and references (avatar looks count as images); this has {videos} and {images}",
            "references",
        )
