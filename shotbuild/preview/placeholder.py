"""A small valid mp4 that names a shot, built without PyAV.

The package ships `placeholder.mp4`: a generic one-frame H.264 clip whose `moov`
box comes last. For each card that frame's duration is set to the card's (the
duration fields keep their size), and the `moov` gets a new `udta` box holding QuickTime
text atoms (title = shot name, comment = prompt, description = looks and size;
ffmpeg reads all three);
since nothing follows `moov`, no sample offset moves and the file stays valid."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from importlib import resources

from shotbuild.preview.card import Card

TEMPLATE = "placeholder.mp4"
UND = 0x55C4  # ISO 639-2 "und", packed: marks the strings as UTF-8 (not Mac Roman)
MAX_TEXT_BYTES = 60_000
CONTAINERS = {b"moov", b"trak", b"edts", b"mdia", b"minf", b"stbl"}
DURATION_BOXES = (
    b"mvhd",
    b"tkhd",
    b"elst",
    b"mdhd",
    b"stts",
)  # a QuickTime text atom holds at most 65,535 bytes


def placeholder_mp4(card: Card) -> bytes:
    """The template clip lasting `card.duration`, with the card's shot name, prompt
    and looks as metadata."""
    return with_metadata(with_duration(template_bytes(), card.duration), metadata(card))


def metadata(card: Card) -> dict[bytes, str]:
    width, height = card.size
    return {
        b"\xa9nam": card.name,
        b"\xa9cmt": card.prompt,
        b"desc": (
            f"shotbuild {card.mark.lower()} placeholder for {card.name}: looks "
            f"{', '.join(card.looks) or '(none)'}; {card.resolution} {card.aspect_ratio} "
            f"({width}x{height}), {card.duration:g} s; install shotbuild[preview] to render it"
        ),
    }


def template_bytes() -> bytes:
    return resources.files("shotbuild.preview").joinpath(TEMPLATE).read_bytes()


def boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each top-level ISO-BMFF box in `data`."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
        elif size == 0:
            size = len(data) - pos
        if size < 8 or pos + size > len(data):
            raise ValueError(f"malformed mp4 box {kind!r} at byte {pos}")
        yield kind, pos, pos + size
        pos += size


def inner_boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int]]:
    """(type, payload offset) of every box under [start, end), depth first."""
    for kind, s, e in boxes(data[start:end]):
        yield kind, start + s + 8
        if kind in CONTAINERS:
            yield from inner_boxes(data, start + s + 8, start + e)


def with_duration(mp4: bytes, seconds: float) -> bytes:
    """`mp4` (version-0 boxes, one track of one sample) with that sample lasting `seconds`."""
    kind, start, end = list(boxes(mp4))[-1]
    at = {k: pos for k, pos in inner_boxes(mp4, start, end)}
    out = bytearray(mp4)
    if kind != b"moov" or any(out[at[k]] != 0 for k in DURATION_BOXES):
        raise ValueError("the placeholder template must hold version-0 duration boxes")
    movie_scale = struct.unpack_from(">I", out, at[b"mvhd"] + 12)[0]
    media_scale = struct.unpack_from(">I", out, at[b"mdhd"] + 12)[0]
    movie, media = round(seconds * movie_scale), round(seconds * media_scale)
    struct.pack_into(">I", out, at[b"mvhd"] + 16, movie)
    struct.pack_into(">I", out, at[b"tkhd"] + 20, movie)
    struct.pack_into(">I", out, at[b"elst"] + 8, movie)  # the first edit's segment
    struct.pack_into(">I", out, at[b"mdhd"] + 16, media)
    if struct.unpack_from(">II", out, at[b"stts"] + 4) != (1, 1):
        raise ValueError("the placeholder template must hold a single sample")
    struct.pack_into(">I", out, at[b"stts"] + 12, media)  # that sample's duration
    return bytes(out)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def text_atom(kind: bytes, text: str) -> bytes:
    raw = text.encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", "ignore").encode("utf-8")
    return box(kind, struct.pack(">HH", len(raw), UND) + raw)


def with_metadata(mp4: bytes, fields: dict[bytes, str]) -> bytes:
    """`mp4` (whose last top-level box is `moov`) with its `udta` replaced by `fields`."""
    top = list(boxes(mp4))
    kind, start, end = top[-1]
    if kind != b"moov":
        raise ValueError("the placeholder template must end with its moov box")
    payload = mp4[start + 8 : end]
    children = [payload[s:e] for k, s, e in boxes(payload) if k != b"udta"]
    udta = box(b"udta", b"".join(text_atom(k, v) for k, v in fields.items()))
    return mp4[:start] + box(b"moov", b"".join(children) + udta)
