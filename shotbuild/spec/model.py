"""The validated spec as small immutable values. Everything after spec/ works on
these; nothing here knows about YAML or positions of text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

RefType = Literal["url", "asset_id", "file", "base64"]
MediaKind = Literal["image", "video"]

# The API's own defaults (HeyGen's Avatar Shots table); filled in by the loader,
# so omitting a field and writing its default are the same shot.
DEFAULT_API_TYPE = "cinematic_avatar"  # HeyGen's current name; keyed as avatar_shots
DEFAULT_ASPECT_RATIO = "16:9"
DEFAULT_RESOLUTION = "720p"
DEFAULT_DURATION = 10
DEFAULT_TAKES = 1  # not an API field: how many takes of the shot a build makes sure exist
MAX_TAKES = 10


@dataclass(frozen=True)
class Position:
    """1-based line and column in the spec file."""

    line: int
    col: int


@dataclass(frozen=True)
class Reference:
    """One reference medium, as written (type `file` is resolved by the engine)."""

    type: RefType
    url: str | None = None
    asset_id: str | None = None
    path: str | None = None  # type file: as written, relative to the spec's folder
    media_type: str | None = None  # type base64: e.g. image/png
    data: str | None = None  # type base64: the base64 text
    media: MediaKind | None = None  # image or video; None when it must be inferred
    kind: MediaKind = "image"  # resolved by the loader from media, extension or media_type


@dataclass(frozen=True)
class Shot:
    """One Avatar Shots job, with defaults merged and API defaults filled in."""

    name: str
    prompt: str  # stripped of surrounding white space
    avatar_id: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    aspect_ratio: str = DEFAULT_ASPECT_RATIO
    resolution: str = DEFAULT_RESOLUTION
    duration: int | None = DEFAULT_DURATION  # None when auto_duration is true
    auto_duration: bool = False
    enhance_prompt: bool = False
    title: str | None = None
    callback_url: str | None = None
    api_type: str = DEFAULT_API_TYPE  # `type` in YAML: cinematic_avatar | avatar_shots
    takes: int = DEFAULT_TAKES  # never part of the key: take n's key is derived per take


@dataclass(frozen=True)
class Member:
    """One shot in a sequence: the part from `start` to `end` (seconds into the
    shot; None: its start, its end)."""

    shot: str
    start: float | None = None  # `in` in YAML
    end: float | None = None  # `out` in YAML


@dataclass(frozen=True)
class Sequence:
    """A cut assembled from shots, in order (`sequences:` in the spec)."""

    name: str
    members: tuple[Member, ...]
    size: tuple[int, int] | None = None  # (width, height) to fit members into


@dataclass(frozen=True)
class Spec:
    """A loaded, valid spec file."""

    path: Path  # absolute path of the spec file
    build_dir: Path  # absolute; from build_dir (relative to the spec) or the default build/
    shots: tuple[Shot, ...]  # in file order
    sequences: tuple[Sequence, ...] = ()  # in file order
    # "shots/<name>/<field>[/<index>...]" -> where that value is written (for later errors)
    positions: dict[str, Position] = field(default_factory=dict, compare=False, repr=False)
    # sha256 of the file's bytes, as loaded ("" when not loaded from a file)
    source_sha256: str = field(default="", compare=False, repr=False)

    @property
    def root(self) -> Path:
        """The spec's folder: relative paths in the spec are relative to it."""
        return self.path.parent

    @property
    def lock_path(self) -> Path:
        return self.path.with_suffix(".lock")

    def shot(self, name: str) -> Shot:
        for shot in self.shots:
            if shot.name == name:
                return shot
        raise KeyError(name)
