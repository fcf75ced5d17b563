"""The validated spec as small immutable values. Everything after spec/ works on
these; nothing here knows about YAML or positions of text."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from shotbuild.value import Value

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


class Position(Value):
    """1-based line and column in the spec file."""

    FIELDS = ("line", "col")
    __slots__ = FIELDS

    def __init__(self, line: int, col: int) -> None:
        self.line: Final = line
        self.col: Final = col


class Reference(Value):
    """One reference medium, as written (type `file` is resolved by the engine)."""

    FIELDS = ("type", "url", "asset_id", "path", "media_type", "data", "media", "kind")
    __slots__ = FIELDS

    def __init__(
        self,
        type: RefType,
        url: str | None = None,
        asset_id: str | None = None,
        path: str | None = None,  # type file: as written, relative to the spec's folder
        media_type: str | None = None,  # type base64: e.g. image/png
        data: str | None = None,  # type base64: the base64 text
        media: MediaKind | None = None,  # image or video; None when it must be inferred
        kind: MediaKind = "image",  # resolved by the loader from media, extension or media_type
    ) -> None:
        self.type: Final = type
        self.url: Final = url
        self.asset_id: Final = asset_id
        self.path: Final = path
        self.media_type: Final = media_type
        self.data: Final = data
        self.media: Final = media
        self.kind: Final = kind


class Shot(Value):
    """One Avatar Shots job, with defaults merged and API defaults filled in."""

    FIELDS = (
        "name",
        "prompt",
        "avatar_id",
        "references",
        "aspect_ratio",
        "resolution",
        "duration",
        "auto_duration",
        "enhance_prompt",
        "title",
        "callback_url",
        "api_type",
        "takes",
    )
    __slots__ = FIELDS

    def __init__(
        self,
        name: str,
        prompt: str,  # stripped of surrounding white space
        avatar_id: tuple[str, ...],
        references: tuple[Reference, ...] = (),
        aspect_ratio: str = DEFAULT_ASPECT_RATIO,
        resolution: str = DEFAULT_RESOLUTION,
        duration: int | None = DEFAULT_DURATION,  # None when auto_duration is true
        auto_duration: bool = False,
        enhance_prompt: bool = False,
        title: str | None = None,
        callback_url: str | None = None,
        api_type: str = DEFAULT_API_TYPE,  # `type` in YAML: cinematic_avatar | avatar_shots
        takes: int = DEFAULT_TAKES,  # never part of the key: take n's key is derived per take
    ) -> None:
        self.name: Final = name
        self.prompt: Final = prompt
        self.avatar_id: Final = avatar_id
        self.references: Final = references
        self.aspect_ratio: Final = aspect_ratio
        self.resolution: Final = resolution
        self.duration: Final = duration
        self.auto_duration: Final = auto_duration
        self.enhance_prompt: Final = enhance_prompt
        self.title: Final = title
        self.callback_url: Final = callback_url
        self.api_type: Final = api_type
        self.takes: Final = takes


class Member(Value):
    """One shot in a sequence: the part from `start` to `end` (seconds into the
    shot; None: its start, its end)."""

    FIELDS = ("shot", "start", "end")
    __slots__ = FIELDS

    def __init__(
        self,
        shot: str,
        start: float | None = None,  # `in` in YAML
        end: float | None = None,  # `out` in YAML
    ) -> None:
        self.shot: Final = shot
        self.start: Final = start
        self.end: Final = end


class Sequence(Value):
    """A cut assembled from shots, in order (`sequences:` in the spec)."""

    FIELDS = ("name", "members", "size")
    __slots__ = FIELDS

    def __init__(
        self,
        name: str,
        members: tuple[Member, ...],
        size: tuple[int, int] | None = None,  # (width, height) to fit members into
    ) -> None:
        self.name: Final = name
        self.members: Final = members
        self.size: Final = size


class Spec(Value):
    """A loaded, valid spec file."""

    FIELDS = ("path", "build_dir", "shots", "sequences", "positions", "source_sha256")
    __slots__ = FIELDS
    COMPARED = ("path", "build_dir", "shots", "sequences")  # positions, sha256: neither

    def __init__(
        self,
        path: Path,  # absolute path of the spec file
        build_dir: Path,  # absolute; from build_dir (relative to the spec) or the default build/
        shots: tuple[Shot, ...],  # in file order
        sequences: tuple[Sequence, ...] = (),  # in file order
        # "shots/<name>/<field>[/<index>...]" -> where that value is written (for later errors)
        positions: dict[str, Position] | None = None,
        # sha256 of the file's bytes, as loaded ("" when not loaded from a file)
        source_sha256: str = "",
    ) -> None:
        self.path: Final = path
        self.build_dir: Final = build_dir
        self.shots: Final = shots
        self.sequences: Final = sequences
        self.positions: Final[dict[str, Position]] = {} if positions is None else positions
        self.source_sha256: Final = source_sha256

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
