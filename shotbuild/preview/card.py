"""What a preview shows: a small immutable value, picklable for process pools."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from shotbuild.errors import ShotbuildError

# (resolution, aspect_ratio) -> (width, height), exactly as HeyGen renders them.
FRAME_SIZES: dict[tuple[str, str], tuple[int, int]] = {
    ("720p", "16:9"): (1280, 720),
    ("720p", "9:16"): (720, 1280),
    ("720p", "1:1"): (720, 720),
    ("1080p", "16:9"): (1920, 1080),
    ("1080p", "9:16"): (1080, 1920),
    ("1080p", "1:1"): (1080, 1080),
}
MAX_DURATION = 3600.0  # seconds; far above the API's 15, a guard against typos


class PreviewError(ShotbuildError):
    """A card the preview renderer cannot draw."""


@dataclass(frozen=True)
class Card:
    """One shot as the preview renderer sees it.

    `duration` is in seconds (the engine passes 10 for `auto_duration`); `images`
    are local image files shown as thumbnails; `mark` is the visible watermark.
    Sequences given as lists are stored as tuples, so a Card is hashable."""

    name: str
    prompt: str
    looks: tuple[str, ...]
    aspect_ratio: str
    resolution: str
    duration: float
    images: tuple[Path, ...] = ()
    mark: str = "PREVIEW"

    def __post_init__(self) -> None:
        object.__setattr__(self, "looks", tuple(self.looks))
        object.__setattr__(self, "images", tuple(Path(p) for p in self.images))
        if (self.resolution, self.aspect_ratio) not in FRAME_SIZES:
            raise PreviewError(
                f"preview of {self.name!r}: unsupported resolution/aspect ratio "
                f"{self.resolution} {self.aspect_ratio}; use 720p or 1080p and 16:9, 9:16 or 1:1"
            )
        if not (math.isfinite(self.duration) and 0 < self.duration <= MAX_DURATION):
            raise PreviewError(
                f"preview of {self.name!r}: duration must be between 0 and "
                f"{MAX_DURATION:g} seconds, not {self.duration!r}"
            )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return FRAME_SIZES[(self.resolution, self.aspect_ratio)]
