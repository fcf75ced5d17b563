"""GET /v3/videos/statuses: up to 100 jobs' statuses in one call, so a build with
many jobs in flight stays within HeyGen's rate limits. Each item is read by the
one status reader (`models.VideoStatus.from_api`, field by field: the answer is
untrusted), keyed `video_id` (the bulk shape) or else `id` (the single shape).

Status words differ from GET /v3/videos/{id}: queued | processing | completed |
failed | not_found; `VideoStatus.phase` reads both (any other word is in
progress; the caller says so once). Whether the real endpoint carries
`video_url` is unconfirmed, so every field but the ID and the status is optional.

An origin that has no such endpoint answers 404 (or 405): `Refusals` remembers
that per origin (in the local cache, like the type names in `drift`), so later
builds ask each job alone at once, and ask again after a day."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shotbuild import untrusted
from shotbuild.heygen.errors import ApiError, bad_answer
from shotbuild.heygen.models import VideoStatus

if TYPE_CHECKING:
    from shotbuild.store.cache import Cache

ACTION = "GET /v3/videos/statuses"
MAX_IDS = 100  # the API's limit per call
REFUSED = frozenset({404, 405})  # no such endpoint at this origin
ASK_AGAIN_AFTER = 24 * 3600.0  # seconds a remembered refusal holds
_CACHE_PREFIX = "bulkstatus-refused:"


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


def parse(doc: Mapping[str, Any], asked: Sequence[str]) -> dict[str, VideoStatus]:
    """The statuses of the `asked` IDs that the answer carries, by ID. Items for IDs
    not asked are ignored; an asked ID missing from the answer is missing here too."""
    items = doc.get("data")
    if not isinstance(items, list):
        raise bad_answer(ACTION, "'data' is not a list")
    if len(items) > MAX_IDS:
        raise bad_answer(ACTION, f"{len(items)} items for at most {MAX_IDS} IDs")
    wanted = set(asked)
    found: dict[str, VideoStatus] = {}
    for item in items:
        status = _item(item)
        if status.video_id in wanted:
            found.setdefault(status.video_id, status)
    return found


def _item(item: Any) -> VideoStatus:
    try:
        data = untrusted.obj(item, "an item")
    except untrusted.BadValue as e:
        raise bad_answer(ACTION, str(e)) from None
    return VideoStatus.from_api(data, ACTION, id_key="video_id")


def refused(e: ApiError) -> bool:
    """Whether error `e` says the origin has no bulk status endpoint (404/405)."""
    return e.status in REFUSED


# -- what the cache remembers ---------------------------------------------------------


@dataclass
class Refusals:
    """Origins that refused GET /v3/videos/statuses, each with when (wall seconds).
    Kept in the local cache when there is one, else for this process only; what the
    cache holds is untrusted: anything but a finite time counts as nothing."""

    cache: Cache | None = None
    wall_clock: Callable[[], float] = time.time
    _here: dict[str, float] = field(default_factory=dict)

    def holds(self, origin: str) -> bool:
        """True while a refusal of `origin` is younger than ASK_AGAIN_AFTER."""
        when = self._here.get(origin)
        if when is None and self.cache is not None:
            when = _when(self.cache.index.get(_CACHE_PREFIX + origin))
        return when is not None and 0 <= self.wall_clock() - when < ASK_AGAIN_AFTER

    def remember(self, origin: str) -> None:
        now = self.wall_clock()
        self._here[origin] = now
        if self.cache is not None:
            self.cache.index.set(_CACHE_PREFIX + origin, now)


def _when(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None
