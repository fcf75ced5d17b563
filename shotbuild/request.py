"""The one request builder: a `Shot` becomes the body of POST /v3/videos here, and
only here.

The body sent to HeyGen, the request that decides a shot's key and the request the
preview renders from all come out of `body_of`; they differ only in how each
reference is resolved (by the API's wire form, or by its identity) and in the
declared cosmetic fields the key leaves out. Every field of `Shot` and `Reference`
is declared below as keyed, cosmetic or structural; a test fails when a new field
is none of these, so a field can no longer reach the API without reaching the key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shotbuild.heygen.typenames import key_type_name
from shotbuild.spec.model import DEFAULT_DURATION, Shot

Body = dict[str, Any]  # the JSON body of a create
Request = dict[str, Any]  # the body as the key sees it: references by identity, no cosmetics

# Shot field -> the body field it becomes. Keyed: a change renders the shot again.
KEYED_FIELDS: Mapping[str, str] = {
    "api_type": "type",
    "prompt": "prompt",
    "avatar_id": "avatar_id",
    "references": "references",
    "aspect_ratio": "aspect_ratio",
    "resolution": "resolution",
    "auto_duration": "auto_duration",
    "enhance_prompt": "enhance_prompt",
    "duration": "duration",
}
# Sent to the API, but they change no pixel: left out of the key.
COSMETIC_FIELDS: Mapping[str, str] = {"title": "title", "callback_url": "callback_url"}
# Never sent: they name or place the shot, or say how many takes of it to keep
# (take n's key is derived from the shot's key: shotbuild.takes.take_key).
STRUCTURAL_FIELDS = frozenset({"name", "takes"})

# Reference fields: the ones a reference is sent by enter the key through its
# identity (a URL, an asset id, or the sha256 of the bytes of a file or base64 data;
# `media_type` travels with base64 data but is not part of its identity, as before);
# the others only steer validation and the media budget.
REFERENCE_IDENTITY_FIELDS = frozenset({"type", "url", "asset_id", "path", "data", "media_type"})
REFERENCE_STRUCTURAL_FIELDS = frozenset({"media", "kind"})

# What the body leaves out when it has its default (the wire form), filled back in
# for the key so it stays what it always was.
_OMITTED_DEFAULTS: Mapping[str, Any] = {"auto_duration": False, "references": []}


def body_of(shot: Shot, references: Sequence[Mapping[str, str]]) -> Body:
    """The create body of a shot, its references already resolved (uploaded files
    as asset ids for the API, identities for the key)."""
    body: Body = {
        "type": shot.api_type,
        "prompt": shot.prompt.strip(),
        "avatar_id": list(shot.avatar_id),
        "aspect_ratio": shot.aspect_ratio,
        "resolution": shot.resolution,
        "enhance_prompt": shot.enhance_prompt,
    }
    if shot.auto_duration:
        body["auto_duration"] = True
    else:
        body["duration"] = shot.duration if shot.duration is not None else DEFAULT_DURATION
    if references:
        body["references"] = [dict(ref) for ref in references]
    for name, value in cosmetic_of(shot).items():
        if value is not None:
            body[name] = value
    return body


def keyed_request(body: Mapping[str, Any]) -> Request:
    """The part of a body that decides the pixels: cosmetic fields removed, the
    defaults the wire form omits filled in, and `type` spelled as keys spell it (both
    Avatar Shots names give one key: shotbuild.heygen.drift.key_type_name)."""
    request: Request = dict(body)
    for name in _COSMETIC_NAMES & request.keys():
        del request[name]
    kind = request.get("type")
    if isinstance(kind, str):
        request["type"] = key_type_name(kind)
    for name, default in _OMITTED_DEFAULTS.items():
        if name not in request:
            request[name] = list(default) if isinstance(default, list) else default
    return request


_COSMETIC_NAMES = frozenset(COSMETIC_FIELDS.values())


def cosmetic_of(shot: Shot) -> dict[str, str | None]:
    """The cosmetic fields of a shot (by body name, as COSMETIC_FIELDS declares), None
    when unset."""
    return {"title": shot.title, "callback_url": shot.callback_url}


def seconds_asked(request: Mapping[str, Any], auto: float) -> float:
    """The seconds of video a request asks for; `auto` for auto_duration."""
    if request.get("auto_duration"):
        return float(auto)
    return float(request.get("duration", DEFAULT_DURATION))
