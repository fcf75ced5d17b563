"""GET /v3/videos/statuses: up to 100 jobs' statuses in one call, so a build with
many jobs in flight stays within HeyGen's rate limits. Its items are read here
field by field (the answer is untrusted), apart from the single-video models.

Status words differ from GET /v3/videos/{id}: queued | processing | completed |
failed | not_found. Any other word is taken as still in progress (the caller says
so once). An item may be keyed `video_id` (the bulk shape) or `id` (the single
shape); whether the real endpoint carries `video_url` is unconfirmed, so every
field but the ID and the status is optional."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shotbuild import untrusted
from shotbuild.heygen.errors import bad_answer

ACTION = "GET /v3/videos/statuses"
MAX_IDS = 100  # the API's limit per call
KNOWN_WORDS = frozenset({"queued", "processing", "completed", "failed", "not_found"})
MAX_URL = 8192
MAX_WORD = 64


@dataclass(frozen=True)
class BulkStatus:
    """One job in the answer to GET /v3/videos/statuses."""

    video_id: str
    status: str
    video_url: str | None = None
    duration: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def done(self) -> bool:
        """True once the job can change no more: completed, failed or not found."""
        return self.status in ("completed", "failed", "not_found")

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def not_found(self) -> bool:
        return self.status == "not_found"

    @property
    def known(self) -> bool:
        """False for a status word the API does not document (treated as in progress)."""
        return self.status in KNOWN_WORDS


def check_ids(video_ids: Sequence[str]) -> list[str]:
    """The IDs to ask for, repeats dropped; ValueError if none, over 100, or one is
    not a video ID (a comma inside one would ask for two)."""
    ids = list(dict.fromkeys(video_ids))
    if not 1 <= len(ids) <= MAX_IDS:
        raise ValueError(f"video_statuses takes 1-{MAX_IDS} video IDs, got {len(ids)}")
    for video_id in ids:
        try:
            untrusted.token(video_id, "video ID")
        except untrusted.BadValue as e:
            raise ValueError(str(e)) from None
    return ids


def parse(doc: Mapping[str, Any], asked: Sequence[str]) -> dict[str, BulkStatus]:
    """The statuses of the `asked` IDs that the answer carries, by ID. Items for IDs
    not asked are ignored; an asked ID missing from the answer is missing here too."""
    items = doc.get("data")
    if not isinstance(items, list):
        raise bad_answer(ACTION, "'data' is not a list")
    if len(items) > MAX_IDS:
        raise bad_answer(ACTION, f"{len(items)} items for at most {MAX_IDS} IDs")
    wanted = set(asked)
    found: dict[str, BulkStatus] = {}
    for item in items:
        status = _item(item)
        if status.video_id in wanted:
            found.setdefault(status.video_id, status)
    return found


def _item(item: Any) -> BulkStatus:
    try:
        data = untrusted.obj(item, "an item")
        key = "video_id" if "video_id" in data else "id"
        return BulkStatus(
            video_id=untrusted.token(data.get(key), key),
            status=untrusted.text(data.get("status"), "status", limit=MAX_WORD),
            video_url=_optional(data, "video_url", MAX_URL),
            duration=_seconds(data.get("duration")),
            failure_code=_optional(data, "failure_code", MAX_WORD),
            failure_message=_optional(data, "failure_message", untrusted.MAX_TEXT),
        )
    except untrusted.BadValue as e:
        raise bad_answer(ACTION, str(e)) from None


def _optional(data: Mapping[str, Any], key: str, limit: int) -> str | None:
    """A string field that may be absent; a malformed one counts as absent."""
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    return value


def _seconds(value: Any) -> float | None:
    try:
        return untrusted.seconds(value) if value is not None else None
    except untrusted.BadValue:
        return None
