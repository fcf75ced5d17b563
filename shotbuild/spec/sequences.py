"""The `sequences:` section: rules the schema cannot express (members exist, one
namespace with shots, one aspect ratio or a `size`, trims inside the shot) and
the model values. Rules yield (path, one-line message, whether at the key)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shotbuild.spec.merge import MergedShot
from shotbuild.spec.model import DEFAULT_ASPECT_RATIO, DEFAULT_DURATION, Member, Sequence
from shotbuild.spec.problems import JsonPath

MAX_SIDE = 4096

Found = Iterator[tuple[JsonPath, str, bool]]


def check(doc: Mapping[str, Any], shots: Mapping[str, MergedShot]) -> Found:
    """Every sequence rule; values the schema rejected are skipped, not trusted."""
    sequences = doc.get("sequences")
    if not isinstance(sequences, dict):
        return
    yield from _names(sequences, shots)
    for name, seq in sequences.items():
        if isinstance(seq, dict):
            yield from _sequence(name, seq, shots, sequences)


def build(doc: Mapping[str, Any]) -> tuple[Sequence, ...]:
    """The model of a valid `sequences:` section (in file order)."""
    sequences = doc.get("sequences") or {}
    return tuple(
        Sequence(name, tuple(_member(m) for m in seq["shots"]), _size(seq.get("size")))
        for name, seq in sequences.items()
    )


def _member(entry: str | Mapping[str, Any]) -> Member:
    if isinstance(entry, str):
        return Member(entry)
    start, end = entry.get("in"), entry.get("out")
    return Member(
        entry["shot"],
        None if start is None else float(start),
        None if end is None else float(end),
    )


def _size(text: Any) -> tuple[int, int] | None:
    if not isinstance(text, str) or "x" not in text:
        return None
    width, _, height = text.partition("x")
    return int(width), int(height)


def _names(sequences: Mapping[str, Any], shots: Mapping[str, MergedShot]) -> Found:
    first = {name.casefold(): ("shot", name) for name in shots}
    for name in sequences:
        kind, seen = first.setdefault(name.casefold(), ("sequence", name))
        if seen == name and kind == "sequence":
            continue
        if seen == name:
            message = (
                f"{name}: is also the name of a shot; shots and sequences share one "
                f"namespace (build/{name}.mp4); rename one"
            )
        else:
            message = (
                f"{name}: differs from {kind} {seen} only in case; their outputs would "
                "collide on case-insensitive file systems"
            )
        yield ("sequences", name), message, True


def _sequence(
    name: str, seq: Mapping[str, Any], shots: Mapping[str, MergedShot], sequences: Mapping[str, Any]
) -> Found:
    where: JsonPath = ("sequences", name)
    entries = seq.get("shots")
    members = list(enumerate(entries)) if isinstance(entries, list) else []
    known: list[tuple[str, MergedShot]] = []
    for i, entry in members:
        shot_name = entry.get("shot") if isinstance(entry, dict) else entry
        if not isinstance(shot_name, str):
            continue
        at: JsonPath = (*where, "shots", i) + (("shot",) if isinstance(entry, dict) else ())
        shot = shots.get(shot_name)
        if shot is None:
            yield at, f"shots[{i}]: {_unknown(shot_name, shots, sequences)}", False
            continue
        known.append((shot_name, shot))
        if isinstance(entry, dict):
            yield from _bounds((*where, "shots", i), entry, shot)
    yield from _aspect(where, seq, known)
    yield from _size_rule(where, seq.get("size"))


def _unknown(shot_name: str, shots: Mapping[str, Any], sequences: Mapping[str, Any]) -> str:
    if shot_name in sequences:
        return f"{shot_name} is a sequence; a sequence lists shots only"
    import difflib  # only for a misspelt name

    near = difflib.get_close_matches(shot_name, list(shots), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]}?" if near else "; list shots defined under shots:"
    return f"no shot named {shot_name} in this spec{hint}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def duration_of(shot: MergedShot) -> float | None:
    """The shot's length in seconds when the spec fixes it (not auto_duration)."""
    if shot.fields.get("auto_duration") is True:
        return None
    length = _number(shot.fields.get("duration", DEFAULT_DURATION))
    return length


def _bounds(at: JsonPath, entry: Mapping[str, Any], shot: MergedShot) -> Found:
    start, end = _number(entry.get("in")), _number(entry.get("out"))
    length = duration_of(shot)
    if start is not None and end is not None and end <= start:
        yield (*at, "out"), f"out: {end:g} is not after in ({start:g}); make out larger", False
    if length is None:
        return
    if start is not None and start >= length:
        yield (
            (*at, "in"),
            f"in: {start:g} is at or past the end of {shot.name} ({length:g} s); make it smaller",
            False,
        )
    if end is not None and end > length:
        yield (
            (*at, "out"),
            f"out: {end:g} is past the end of {shot.name} ({length:g} s); "
            f"use at most {length:g} or leave it out",
            False,
        )


def _aspect(where: JsonPath, seq: Mapping[str, Any], known: list[tuple[str, MergedShot]]) -> Found:
    if "size" in seq:
        return
    ratios: dict[str, list[str]] = {}
    for name, shot in known:
        ratio = shot.fields.get("aspect_ratio", DEFAULT_ASPECT_RATIO)
        names = ratios.setdefault(str(ratio), [])
        if name not in names:
            names.append(name)
    if len(ratios) > 1:
        listed = " and ".join(f"{r} ({', '.join(n[:3])})" for r, n in ratios.items())
        yield (
            (*where, "shots"),
            f"{where[-1]}: members have aspect ratios {listed}; use shots of one aspect "
            "ratio, or set size: WIDTHxHEIGHT to fit them into",
            True,
        )


def _size_rule(where: JsonPath, size: Any) -> Found:
    parsed = _size(size)
    if parsed is None:
        return
    width, height = parsed
    if width % 2 or height % 2 or width > MAX_SIDE or height > MAX_SIDE:
        yield (
            (*where, "size"),
            f"size: {size} must be even numbers of at most {MAX_SIDE} (H.264 yuv420p); "
            "e.g. 1280x720",
            False,
        )
