"""What the HeyGen API answers, as small immutable values. Parsing is tolerant:
only the fields the API guarantees are required; the rest default to None, and
fields shotbuild does not know are ignored, so additions to the API break nothing.
Every answer is untrusted (a proxy or a broken gateway may send anything): ids must
be bounded safe tokens, texts are bounded and made one safe line, numbers finite."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shotbuild import untrusted
from shotbuild.heygen.errors import bad_answer
from shotbuild.untrusted import BadValue

MAX_URL = 16_384  # a presigned URL with all its signature parameters
MAX_FIELD = 1_000  # a title, a status, a code

TERMINAL_STATUSES = frozenset({"completed", "failed"})


def _req(data: Mapping[str, Any], key: str, action: str) -> str:
    """A required field: present and short enough, as one printable line."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    if not isinstance(value, str) or not value:
        raise bad_answer(action, f"no '{key}' in the data")
    if len(value) > MAX_FIELD:
        raise bad_answer(action, f"'{key}' is {len(value):,} characters long")
    return untrusted.one_line(value, MAX_FIELD)


def _id(data: Mapping[str, Any], key: str, action: str) -> str:
    """An id shotbuild keeps (in the cache, the lock, a URL): a bounded safe token."""
    value = _req(data, key, action)
    try:
        return untrusted.token(value, key)
    except BadValue as e:
        raise bad_answer(action, str(e)) from None


def _opt_str(data: Mapping[str, Any], key: str, limit: int = MAX_FIELD) -> str | None:
    """An optional text: None when absent, not a string, or longer than `limit`."""
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    return untrusted.one_line(value, limit)


def _opt_url(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    return value if value.isprintable() and " " not in value else None


def _opt_num(data: Mapping[str, Any], key: str) -> float | None:
    """A finite number (or a numeric string of sane length), else None."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > 40:
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _opt_seconds(data: Mapping[str, Any], key: str) -> float | None:
    """A duration: finite, 0 to a day; anything else is unknown (None), never a lock value."""
    number = _opt_num(data, key)
    if number is None or not 0 <= number <= untrusted.MAX_DURATION:
        return None
    return number


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    number = _opt_num(data, key)
    return int(number) if number is not None and abs(number) < 1e15 else None


@dataclass(frozen=True)
class CreatedVideo:
    """The answer to POST /v3/videos."""

    video_id: str
    status: str  # pending, waiting, ...: anything not terminal is in progress
    output_format: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CreatedVideo:
        action = "POST /v3/videos"
        return cls(
            video_id=_id(data, "video_id", action),
            status=_opt_str(data, "status") or "pending",
            output_format=_opt_str(data, "output_format"),
        )


@dataclass(frozen=True)
class VideoStatus:
    """The answer to GET /v3/videos/{id}; only `id` and `status` are guaranteed."""

    id: str
    status: str
    video_url: str | None = None
    duration: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    title: str | None = None
    created_at: int | None = None
    completed_at: int | None = None
    thumbnail_url: str | None = None

    @property
    def video_id(self) -> str:
        return self.id

    @property
    def done(self) -> bool:
        """True once the job can change no more (completed or failed)."""
        return self.status in TERMINAL_STATUSES

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> VideoStatus:
        action = "GET /v3/videos/{id}"
        return cls(
            id=_id(data, "id", action),
            status=_req(data, "status", action),
            video_url=_opt_url(data, "video_url"),
            duration=_opt_seconds(data, "duration"),
            failure_code=_opt_str(data, "failure_code"),
            failure_message=_opt_str(data, "failure_message", untrusted.MAX_TEXT),
            title=_opt_str(data, "title", untrusted.MAX_TEXT),
            created_at=_opt_int(data, "created_at"),
            completed_at=_opt_int(data, "completed_at"),
            thumbnail_url=_opt_url(data, "thumbnail_url"),
        )


@dataclass(frozen=True)
class Look:
    """One avatar look from GET /v3/avatars/looks."""

    id: str
    name: str | None = None
    avatar_type: str | None = None
    preferred_orientation: str | None = None
    preview_image_url: str | None = None
    status: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Look:
        return cls(
            id=_req(data, "id", "GET /v3/avatars/looks"),
            name=_opt_str(data, "name"),
            avatar_type=_opt_str(data, "avatar_type"),
            preferred_orientation=_opt_str(data, "preferred_orientation"),
            preview_image_url=_opt_url(data, "preview_image_url"),
            status=_opt_str(data, "status"),
        )

    def as_json(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "name": self.name,
            "avatar_type": self.avatar_type,
            "preferred_orientation": self.preferred_orientation,
            "preview_image_url": self.preview_image_url,
            "status": self.status,
        }


@dataclass(frozen=True)
class Asset:
    """An uploaded file, usable as `{"type": "asset_id", "asset_id": ...}`."""

    asset_id: str
    url: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], action: str = "POST /v3/assets") -> Asset:
        return cls(
            asset_id=_id(data, "asset_id", action),
            url=_opt_url(data, "url"),
            mime_type=_opt_str(data, "mime_type"),
            size_bytes=_opt_int(data, "size_bytes"),
        )


@dataclass(frozen=True)
class WebhookEndpoint:
    """A registered webhook endpoint; `secret` (shown once) signs the deliveries."""

    endpoint_id: str
    url: str
    events: tuple[str, ...] = ()
    status: str | None = None
    secret: str | None = None
    created_at: str | None = None

    def __repr__(self) -> str:  # the secret is a credential: keep it out of logs
        return (
            f"WebhookEndpoint(endpoint_id={self.endpoint_id!r}, url={self.url!r}, "
            f"events={self.events!r}, status={self.status!r})"
        )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookEndpoint:
        action = "POST /v3/webhooks/endpoints"
        events = data.get("events")
        created = data.get("created_at")
        return cls(
            endpoint_id=_id(data, "endpoint_id", action),
            url=_req(data, "url", action),
            events=tuple(e for e in events if isinstance(e, str))
            if isinstance(events, list)
            else (),
            status=_opt_str(data, "status"),
            secret=_opt_str(data, "secret"),
            created_at=untrusted.one_line(str(created), 40) if created is not None else None,
        )
