"""Read a spec file into a Spec, or into the list of everything wrong with it.

Stages: read (size, UTF-8) -> YAML with positions -> the JSON Schema -> defaults
merged under each shot -> semantic rules -> the model. Every problem of every
stage that can run is collected; nothing stops at the first."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import stat
from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from pathlib import Path
from typing import Any, NamedTuple

from shotbuild.spec import rules, schema, sequences
from shotbuild.spec.merge import MergedShot, merge, subpaths
from shotbuild.spec.model import (
    DEFAULT_API_TYPE,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_DURATION,
    DEFAULT_RESOLUTION,
    DEFAULT_TAKES,
    Position,
    Reference,
    Shot,
    Spec,
)
from shotbuild.spec.problems import JsonPath, Problem, SpecInvalid, unique
from shotbuild.spec.yamlpos import Parsed, YamlSyntaxError, at, parse

MAX_BYTES = 8 * 1024 * 1024  # room for well over 10,000 shots
DEFAULT_BUILD_DIR = "build"


def load_spec(path: Path | str) -> Spec:
    """The valid spec at `path`; raises SpecInvalid listing every problem."""
    with no_cyclic_gc():
        spec, problems = _load(Path(path))
    if problems or spec is None:
        raise SpecInvalid(problems)
    return spec


def check_file(path: Path | str) -> list[Problem]:
    """Every problem in the spec at `path` (empty when it is valid); builds no model."""
    with no_cyclic_gc():
        return _check(Path(path))[1]


@contextlib.contextmanager
def no_cyclic_gc(*, freeze: bool = False) -> Iterator[None]:
    """Loading (and planning) builds a large tree of acyclic objects; the cyclic
    collector's repeated passes over it made a 10,000-shot load super-linear
    (bench/run.py, no-op growth). Reference counting frees all of it; the collector
    resumes after. `freeze`: what is alive then is frozen first (gc.freeze), so the
    collector never walks it (for a caller that keeps it until the process ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()


def printable(text: str) -> str:
    """One line with no control characters (a value in a message may hold any)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _FileError(Exception):
    def __init__(self, message: str, position: Position | None = None) -> None:
        super().__init__(message)
        self.message, self.position = message, position or Position(1, 1)


def read_text(path: Path) -> str:
    """The spec's text; _FileError when it cannot be read as a spec."""
    return decode(read_bytes(path))


def read_bytes(path: Path) -> bytes:
    """The spec's bytes (at most MAX_BYTES); _FileError when they cannot be read."""
    try:
        if not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():
            raise _FileError("is not a regular file (a pipe or a device?); give a spec file")
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _FileError("no such file") from None
    except IsADirectoryError:
        raise _FileError("is a folder, not a spec file") from None
    except PermissionError:
        raise _FileError("cannot be read (permission denied)") from None
    except OSError as e:
        raise _FileError(f"cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_BYTES:
        raise _FileError(f"over {MAX_BYTES // 2**20} MiB; split the spec into several files")
    return data


def decode(data: bytes) -> str:
    """The text of a spec's bytes; _FileError when they are not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise _FileError(
            f"not UTF-8 text (byte 0x{data[e.start]:02x}); save the file as UTF-8",
            Position(line, col),
        ) from None


def _load(path: Path) -> tuple[Spec | None, list[Problem]]:
    checked, problems = _check(path)
    if checked is None:
        return None, problems
    doc, shots, source = checked
    return _spec(Path(os.path.abspath(path)), doc, shots, source), []


class _Source(NamedTuple):
    """The spec file's text, and the sha256 of its bytes."""

    text: str
    sha256: str  # of the file's bytes


_Checked = tuple[dict[str, Any], list[MergedShot], _Source]


def _check(path: Path) -> tuple[_Checked | None, list[Problem]]:
    """(the document, its merged shots and the parse, when valid; every problem)."""
    shown = str(path)

    def problem(position: Position, message: str) -> Problem:
        return Problem(shown, position.line, position.col, printable(message))

    try:
        data = read_bytes(path)
        text = decode(data)
        parsed = parse(text)
    except (_FileError, YamlSyntaxError) as e:
        return None, [problem(e.position, e.message)]
    problems = [problem(pos, message) for pos, message in parsed.problems]
    errors = schema.errors(parsed.value)
    for error in errors:
        problems.append(problem(parsed.position(error.path, key=error.at_key), error.message))
    doc = parsed.value
    if not _rules_can_run(doc, errors):
        return None, unique(problems)
    root = Path(os.path.abspath(path)).parent
    defaults = doc.get("defaults") or {}
    shots = [
        merge(name, own, defaults) for name, own in doc["shots"].items() if isinstance(own, dict)
    ]
    resolved_root = root.resolve()
    reported = {e.path for e in errors}
    for where, message in rules.names(doc["shots"]):
        problems.append(problem(parsed.position(where, key=True), message))
    for where, message in rules.build_dir(doc.get("build_dir"), resolved_root):
        problems.append(problem(parsed.position(where), message))
    for shot in shots:
        for where, message in rules.check(shot, resolved_root):
            if not _overlaps(where, reported):
                problems.append(problem(parsed.position(where), message))
    by_name = {shot.name: shot for shot in shots}
    for where, message, at_key in sequences.check(doc, by_name):
        if not _overlaps(where, reported):
            problems.append(problem(parsed.position(where, key=at_key), message))
    if problems:
        return None, unique(problems)
    return (doc, shots, _Source(text, hashlib.sha256(data).hexdigest())), []


def _rules_can_run(doc: Any, errors: list[schema.SchemaError]) -> bool:
    """Whether the shots can be merged and checked at all (a broken `defaults`
    would break every shot; a problem inside one shot only mutes the rules that
    would repeat it, see _overlaps)."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("shots"), dict)
        and isinstance(doc.get("defaults", {}), dict)
        and not any(e.path[:1] == ("defaults",) for e in errors)
    )


def _overlaps(path: JsonPath, reported: set[JsonPath]) -> bool:
    """Whether the schema already reported on this value, inside it, or on the
    field that holds it (then a rule would only repeat or guess)."""
    if any(path[:cut] in reported for cut in range(3, len(path) + 1)):
        return True
    return bool(reported) and any(r[: len(path)] == path for r in reported)


def _spec(path: Path, doc: dict[str, Any], shots: list[MergedShot], source: _Source) -> Spec:
    """The model. It keeps only the text for its positions (parsed again on first
    use): keeping the parse tree alive was most of a large no-op build's memory."""
    build_dir = os.path.normpath(path.parent / str(doc.get("build_dir", DEFAULT_BUILD_DIR)))
    text = source.text
    return Spec(
        path=path,
        build_dir=Path(build_dir),
        shots=tuple(_shot(s) for s in shots),
        sequences=sequences.build(doc),
        positions=_Positions(lambda: _positions_of(text)),
        source_sha256=source.sha256,
    )


def _positions_of(text: str) -> dict[str, Position]:
    """The positions of a valid spec's text (see _positions)."""
    with no_cyclic_gc():
        parsed = parse(text)
        doc = parsed.value
        defaults = doc.get("defaults") or {}
        shots = [
            merge(n, own, defaults) for n, own in doc["shots"].items() if isinstance(own, dict)
        ]
        return _positions(shots, parsed)


def _positions(shots: list[MergedShot], parsed: Parsed) -> dict[str, Position]:
    """ "shots/<name>[/<field>[/<index or key>...]]" -> where it is written (a
    field inherited from defaults: where defaults has it)."""
    positions: dict[str, Position] = {}
    for shot in shots:
        shot_path = ("shots", shot.name)
        positions["shots/" + shot.name] = at(parsed.keys[shot_path])
        for field, value in shot.fields.items():
            for sub in subpaths(value):
                name = "/".join(str(p) for p in (*shot_path, field, *sub))
                positions[name] = at(parsed.values[shot.where(field, *sub)])
    return positions


class _Positions(dict[str, Position]):
    """Spec.positions, computed on first use: a build that has no error to point
    at never pays for them."""

    def __init__(self, compute: Callable[[], dict[str, Position]]) -> None:
        super().__init__()
        self._compute: Callable[[], dict[str, Position]] | None = compute

    def _fill(self) -> None:
        if self._compute is not None:
            compute, self._compute = self._compute, None
            self.update(compute())

    def __getitem__(self, key: str) -> Position:
        self._fill()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._fill()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self._fill()
        return super().__iter__()

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        self._fill()
        return super().keys()

    def values(self) -> ValuesView[Position]:  # type: ignore[override]
        self._fill()
        return super().values()

    def items(self) -> ItemsView[str, Position]:  # type: ignore[override]
        self._fill()
        return super().items()

    def __eq__(self, other: object) -> bool:
        self._fill()
        return super().__eq__(other)

    __hash__ = None

    def __repr__(self) -> str:
        self._fill()
        return super().__repr__()

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy as a plain dict
        self._fill()
        return (dict, (dict(super().items()),))


def _shot(shot: MergedShot) -> Shot:
    f = shot.fields
    get = f.get
    auto = bool(get("auto_duration", False))
    refs = get("references")
    return Shot(  # by position, in Shot.FIELDS' order (one per shot, each load)
        shot.name,
        str(f["prompt"]).strip(),
        tuple(f["avatar_id"]),
        tuple([_reference(r) for r in refs]) if refs else (),
        get("aspect_ratio", DEFAULT_ASPECT_RATIO),
        get("resolution", DEFAULT_RESOLUTION),
        None if auto else int(get("duration", DEFAULT_DURATION)),
        auto,
        bool(get("enhance_prompt", False)),
        get("title"),
        get("callback_url"),
        get("type", DEFAULT_API_TYPE),
        int(get("takes", DEFAULT_TAKES)),
    )


def _reference(ref: dict[str, Any]) -> Reference:
    data = ref.get("data")
    kind = rules.reference_kind(ref)
    assert kind is not None  # the rules made sure
    return Reference(
        type=ref["type"],
        url=ref.get("url"),
        asset_id=ref.get("asset_id"),
        path=ref.get("path"),
        media_type=ref.get("media_type"),
        data="".join(data.split()) if isinstance(data, str) else None,
        media=ref.get("media"),
        kind=kind,
    )
