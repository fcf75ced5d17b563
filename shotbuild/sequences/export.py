"""A cut for editors, through OpenTimelineIO (the `edit` extra): `<seq>.otio`,
an FCP 7 XML `<seq>.xml` (Resolve and Premiere import it) and, when its
adapter is installed, a CMX 3600 `<seq>.edl`. One video track, one clip per
member with its source range. The .otio and .edl name media by path relative
to the export's folder (the folder can move); the XML by absolute file:// URL,
as Resolve and Premiere link it without asking."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotbuild.errors import MissingExtra
from shotbuild.fs import atomic_write_text

# Editors' timecode needs a standard rate; members at another rate (previews are
# 4 fps) are placed on a 24 fps timeline, where every quarter second is exact.
TIMECODE_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
DEFAULT_RATE = 24.0
FORMATS = (("otio_json", ".otio"), ("fcp_xml", ".xml"), ("cmx_3600", ".edl"))
REQUIRED = ("otio_json", "fcp_xml")


@dataclass(frozen=True)
class Clip:
    """One member on the timeline: its file and the part used, in seconds."""

    name: str
    path: Path
    start: float
    end: float
    available: float  # the file's whole length
    rate: float


def timeline_rate(rate: float) -> float:
    near = [r for r in TIMECODE_RATES if abs(r - rate) < 0.01]
    return near[0] if near else DEFAULT_RATE


def _otio() -> Any:
    try:
        import opentimelineio
    except ImportError as e:
        raise MissingExtra("exporting .otio and .xml", "edit") from e
    return opentimelineio


def timeline(name: str, clips: Sequence[Clip], folder: Path, *, absolute: bool = False) -> Any:
    """The cut as an OTIO timeline; media by path relative to `folder`, or as
    absolute file:// URLs (what FCP 7 XML importers link without asking)."""
    otio = _otio()
    rate = timeline_rate(clips[0].rate) if clips else DEFAULT_RATE

    def at(seconds: float) -> Any:
        return otio.opentime.from_seconds(seconds, rate).round()

    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for clip in clips:
        media = otio.schema.ExternalReference(
            target_url=(
                clip.path.resolve().as_uri()
                if absolute
                else Path(os.path.relpath(clip.path, folder)).as_posix()
            ),
            available_range=otio.opentime.TimeRange(at(0), at(clip.available)),
        )
        source = otio.opentime.TimeRange(at(clip.start), at(clip.end) - at(clip.start))
        track.append(otio.schema.Clip(name=clip.name, media_reference=media, source_range=source))
    result = otio.schema.Timeline(name=name, global_start_time=at(0))
    result.tracks.append(track)
    return result


def write(name: str, clips: Sequence[Clip], folder: Path) -> list[Path]:
    """Write the exports beside the cut; the files written. MissingExtra without
    OpenTimelineIO or its FCP XML adapter."""
    otio = _otio()
    available = set(otio.adapters.available_adapter_names())
    if not set(REQUIRED) <= available:
        raise MissingExtra("exporting FCP XML", "edit")
    relative = timeline(name, clips, folder)
    absolute = timeline(name, clips, folder, absolute=True)
    written = []
    for adapter, suffix in FORMATS:
        if adapter not in available:
            continue
        try:
            text = otio.adapters.write_to_string(
                absolute if adapter == "fcp_xml" else relative, adapter
            )
        except otio.exceptions.OTIOError:
            if adapter in REQUIRED:
                raise
            continue  # an EDL cannot say every cut (e.g. too many events): it is a bonus
        path = folder / f"{name}{suffix}"
        atomic_write_text(path, text)
        written.append(path)
    return written


def paths(name: str, folder: Path) -> list[Path]:
    """Every export a cut may have (for checking and cleaning)."""
    return [folder / f"{name}{suffix}" for _, suffix in FORMATS]
