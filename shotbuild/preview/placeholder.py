"""A small valid mp4 that names a shot, built without PyAV.

The package ships `placeholder.mp4`: a generic one-second H.264 clip whose `moov`
box comes last. For each card the `moov` gets a new `udta` box holding QuickTime
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
MAX_TEXT_BYTES = 60_000  # a QuickTime text atom holds at most 65,535 bytes


def placeholder_mp4(card: Card) -> bytes:
    """The template clip with the card's shot name, prompt and looks as metadata."""
    return with_metadata(template_bytes(), metadata(card))


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
