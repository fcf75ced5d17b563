"""shots.lock: per shot, every take of its current inputs and the one picked.

Format 2 (written; format 1, one entry per shot, is still read as that shot's
one take, picked):

    {
      "format_version": 2,
      "shots": {
        "intro": {
          "key": "<the shot's input key: take 1's key>",
          "pick": 2,
          "takes": {
            "1": {"built_at": ..., "duration": ..., "key": ..., "origin": ...,
                  "sha256": ..., "size": ..., "video_id": ...},
            "2": {...}
          }
        }
      }
    }

Keys are sorted (takes by number), two-space indent, a trailing newline: one
block per shot and one line per pick, so diffs and merges stay readable. The
file is written atomically as shots finish: a build writes it at most once a
second (`LockWriter`) and once at its end, each shot's text encoded once.

The lock comes from git, so from anyone: it is read bounded (a lock that is not
a regular file, or larger than `MAX_LOCK_BYTES`, is refused before it is read)
and field by field through `shotbuild.untrusted`. Every problem is one LockError
line naming the file and saying how to recover.

Two views: `LockFile` (shot name -> `ShotTakes`) for code that knows takes, and
`read_lock`/`write_lock` (shot name -> the picked take's `LockEntry`) for code
that does not yet."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from shotbuild import untrusted
from shotbuild.errors import FileRefused, ShotbuildError
from shotbuild.fs import atomic_write_text
from shotbuild.regularfile import read_regular
from shotbuild.store.jsontext import Members, object_text
from shotbuild.store.pace import Pace
from shotbuild.takes import MAX_TAKE_NUMBER, take_key
from shotbuild.untrusted import (
    BadValue,
    is_origin,
    is_sha256,
    is_shot_name,
    is_timestamp,
    is_token,
    show,
)

LOCK_FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_LOCK_BYTES = untrusted.MAX_JSON_BYTES
_CONFLICT_MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ", "||||||| ")
_ENTRY_FIELDS = frozenset(("built_at", "duration", "key", "origin", "sha256", "size", "video_id"))
_SHOT_FIELDS = frozenset(("key", "pick", "takes"))
_TOP_FIELDS = frozenset(("format_version", "shots"))


class LockError(ShotbuildError):
    """The lock file cannot be read."""


class LockEntry(NamedTuple):
    """One take: a finished paid render. A NamedTuple, not a dataclass: the no-op
    build reads one per shot and must not import `dataclasses` (it is never
    encoded as a tuple: `to_json` gives its object)."""

    key: str  # the take's key (take 1: the shot's input key; sha256 hex)
    video_id: str
    sha256: str  # of the mp4 bytes
    size: int  # bytes
    duration: float  # seconds of video
    origin: str  # the API origin that rendered it, e.g. https://api.heygen.com
    built_at: str  # UTC, ISO 8601 with a Z

    def replace(self, **changes: Any) -> LockEntry:
        """A copy with `changes` (what dataclasses.replace did)."""
        return self._replace(**changes)

    def to_json(self) -> dict[str, Any]:
        """The fields in sorted order (a dict literal: this runs for every shot)."""
        return {
            "built_at": self.built_at,
            "duration": self.duration,
            "key": self.key,
            "origin": self.origin,
            "sha256": self.sha256,
            "size": self.size,
            "video_id": self.video_id,
        }

    @classmethod
    def from_json(cls, raw: Any) -> LockEntry:
        """The entry `to_json` made; KeyError, TypeError or ValueError when damaged.
        Lenient (for the caches); the lock itself is read with `parse_entry`."""
        return cls(
            key=_str(raw["key"]),
            video_id=_str(raw["video_id"]),
            sha256=_str(raw["sha256"]),
            size=int(raw["size"]),
            duration=float(raw["duration"]),
            origin=_str(raw["origin"]),
            built_at=_str(raw["built_at"]),
        )

    def same_render(self, other: LockEntry) -> bool:
        """The same paid render (when it was recorded does not matter)."""
        return (self.key, self.video_id, self.sha256) == (other.key, other.video_id, other.sha256)


def parse_entry(raw: Any) -> LockEntry:
    """A lock entry from outside, every field checked; BadValue says which is wrong.
    The lock of a no-op build is read on every build, so a well-formed entry takes
    one fast test and only a bad one goes through the checks that explain it."""
    entry = _plain_entry(raw)
    return entry if entry is not None else _checked_entry(raw)


def _plain_entry(raw: Any) -> LockEntry | None:
    """The entry when every field is plainly right (what `_checked_entry` accepts),
    else None."""
    if type(raw) is dict and raw.keys() == _ENTRY_FIELDS:
        key, video_id, sha = raw["key"], raw["video_id"], raw["sha256"]
        size, duration = raw["size"], raw["duration"]
        origin, built_at = raw["origin"], raw["built_at"]
        if (
            type(key) is str
            and is_sha256(key)
            and type(sha) is str
            and is_sha256(sha)
            and type(video_id) is str
            and is_token(video_id)
            and type(size) is int
            and 0 <= size <= untrusted.MAX_SIZE
            and type(duration) in (int, float)
            and 0 <= duration <= untrusted.MAX_DURATION
            and type(origin) is str
            and (origin in _GOOD_ORIGINS or _good_origin(origin))
            and type(built_at) is str
            and is_timestamp(built_at)
        ):
            # the same in most entries: one string each (sys.intern), not one per entry
            origin, built_at = sys.intern(origin), sys.intern(built_at)
            return LockEntry(key, video_id, sha, size, float(duration), origin, built_at)
    return None


_GOOD_ORIGINS: set[str] = set()  # the few origins seen, each matched once


def _good_origin(origin: str) -> bool:
    if not is_origin(origin):
        return False
    if len(_GOOD_ORIGINS) < 64:
        _GOOD_ORIGINS.add(origin)
    return True


def _checked_entry(raw: Any) -> LockEntry:
    fields = untrusted.obj(raw, "a take")
    _only(fields, _ENTRY_FIELDS, "a take")
    return LockEntry(
        key=untrusted.sha256(fields.get("key"), "key"),
        video_id=untrusted.token(fields.get("video_id"), "video_id"),
        sha256=untrusted.sha256(fields.get("sha256"), "sha256"),
        size=untrusted.count(fields.get("size"), "size", limit=untrusted.MAX_SIZE),
        duration=untrusted.seconds(fields.get("duration"), "duration"),
        origin=untrusted.origin(fields.get("origin"), "origin"),
        built_at=untrusted.timestamp(fields.get("built_at"), "built_at"),
    )


class _ShotTakes(NamedTuple):
    key: str  # the shot's input key (take 1's key)
    takes: Mapping[int, LockEntry]
    pick: int


class ShotTakes(_ShotTakes):
    """One shot in the lock: its input key, its takes by number, the pick (one of
    them). A NamedTuple, not a dataclass (see LockEntry)."""

    __slots__ = ()

    def __new__(cls, key: str, takes: Mapping[int, LockEntry], pick: int = 1) -> ShotTakes:
        if pick not in takes:
            raise ValueError(f"pick {pick} is not one of the takes {sorted(takes)}")
        return super().__new__(cls, key, takes, pick)

    @property
    def picked(self) -> LockEntry:
        return self.takes[self.pick]

    @property
    def current(self) -> LockEntry:
        """The picked take as the shot's render: keyed by the shot's input key, with
        the origin that key was made at (take 1's)."""
        entry = self.takes[self.pick]
        if entry.key == self.key:
            return entry
        first = self.takes.get(1)
        origin = first.origin if first is not None else entry.origin
        return entry.replace(key=self.key, origin=origin)

    @property
    def numbers(self) -> list[int]:
        return sorted(self.takes)

    def missing(self, wanted: int) -> list[int]:
        """The take numbers 1..wanted a build must still render (`takes: wanted`)."""
        return [n for n in range(1, wanted + 1) if n not in self.takes]

    def next_number(self) -> int:
        """The number a new take (a reroll) gets."""
        return max(self.takes) + 1

    def with_take(self, number: int, entry: LockEntry, *, pick: bool = False) -> ShotTakes:
        takes = {**self.takes, number: entry}
        return ShotTakes(self.key, takes, number if pick else self.pick)

    def with_pick(self, number: int) -> ShotTakes:
        return ShotTakes(self.key, self.takes, number)

    def same_as(self, other: ShotTakes) -> bool:
        """The same takes (as renders) and the same pick."""
        if (
            self.key != other.key
            or self.pick != other.pick
            or self.takes.keys() != other.takes.keys()
        ):
            return False
        return all(e.same_render(other.takes[n]) for n, e in self.takes.items())

    @classmethod
    def single(cls, entry: LockEntry) -> ShotTakes:
        """A shot with one take, picked: how a format-1 entry reads."""
        return cls(entry.key, {1: entry}, 1)


class _LockFile(NamedTuple):
    shots: Mapping[str, ShotTakes]


class LockFile(_LockFile):
    """The whole lock: shot name -> ShotTakes. A NamedTuple, not a dataclass (see
    LockEntry)."""

    __slots__ = ()

    def __new__(cls, shots: Mapping[str, ShotTakes] | None = None) -> LockFile:
        return super().__new__(cls, {} if shots is None else shots)

    def picked(self) -> dict[str, LockEntry]:
        """Shot name -> its picked take (the compatibility view)."""
        return {name: shot.takes[shot.pick] for name, shot in self.shots.items()}

    def current(self) -> dict[str, LockEntry]:
        """Shot name -> its picked take as the shot's render: keyed by the shot's input
        key, so a shot whose pick is take 2 is as up to date as one picking take 1
        (what the planner and the lock check compare with a shot's key), and with the
        origin the shot's key was made at (take 1's: takes of one key differ in origin
        only by a loopback port, which `keys.accepted_keys` must know)."""
        return {name: shot.current for name, shot in self.shots.items()}

    def get(self, name: str) -> ShotTakes | None:
        return self.shots.get(name)

    def with_shot(self, name: str, shot: ShotTakes) -> LockFile:
        return LockFile({**self.shots, name: shot})

    def without(self, name: str) -> LockFile:
        return LockFile({n: s for n, s in self.shots.items() if n != name})

    @classmethod
    def from_picked(cls, entries: Mapping[str, LockEntry]) -> LockFile:
        return cls({name: ShotTakes.single(entry) for name, entry in entries.items()})


# writing


def dumps_lock_file(lock: LockFile) -> str:
    """The lock's text: what `json.dumps(doc, indent=2, ensure_ascii=False)` gives."""
    return LockText().dumps(lock)


def _shot_json(shot: ShotTakes) -> dict[str, Any]:
    takes = {str(n): shot.takes[n].to_json() for n in sorted(shot.takes)}
    return {"key": shot.key, "pick": shot.pick, "takes": takes}


class LockText:
    """Encodes locks, keeping each shot's text until that shot changes: writing a
    lock again after one shot finished re-encodes that one shot, not all of them."""

    def __init__(self) -> None:
        self._shots = Members(2, ensure_ascii=False, sort_keys=False)

    def dumps(self, lock: LockFile) -> str:
        names = sorted(lock.shots)
        self._shots.keep_only(lock.shots)
        shots = object_text((self._shots.text(n, lock.shots[n], _shot_json) for n in names), 1)
        top = (f'  "format_version": {LOCK_FORMAT_VERSION}', f'  "shots": {shots}')
        return object_text(top, 0) + "\n"


def write_lock_file(path: Path, lock: LockFile) -> None:
    """Replace the lock in one step: a reader sees the old file or the new one."""
    atomic_write_text(path, dumps_lock_file(lock))


class LockWriter:
    """A build's writer of its shots.lock: at most one write a second (less often
    as the lock grows, see `Pace`), the latest lock always; `flush` writes what is
    pending at once. Batching is safe because every paid render is on record in
    the cache (its job with the video_id, its result and its paid-render record)
    before it reaches the lock: a build killed before the write puts those renders
    in the lock next time, with no create."""

    def __init__(
        self, path: Path, every: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.every = every
        self.writes = 0
        self.pace = Pace(clock)
        self._text = LockText()
        self._pending: LockFile | None = None

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def write(self, lock: LockFile, before: Callable[[], object] | None = None) -> None:
        """Write `lock` now if a write is due (calling `before` first), else soon
        (`due_in`, or `flush`)."""
        self._pending = lock
        if self.due_in() <= 0:
            if before is not None:
                before()
            self.flush()

    def due_in(self) -> float:
        """Seconds until a pending lock is due to be written (0: now)."""
        return self.pace.due_in(self.every)

    def flush(self) -> None:
        lock = self._pending
        if lock is None:
            return
        with self.pace.writing():
            atomic_write_text(self.path, self._text.dumps(lock))
        self._pending = None  # only once written: a failed write stays pending
        self.writes += 1


# reading


def read_lock_file(path: Path) -> LockFile:
    """The lock at `path`; an absent lock file has no shots."""
    text = read_lock_text(path)
    return LockFile() if text is None else loads_lock_file(text, str(path))


def loads_lock_file(text: str, where: str = "shots.lock") -> LockFile:
    """Parse a lock; every problem is a LockError naming `where` and how to recover.
    A lock as shotbuild writes it takes the quickest of three readers that reads it
    (`_written_lock`, `_fast_lock`, `_checked_lock_file`): each accepts only what the
    checked one accepts, and reads it to the same value (tests/test_lock_fast.py)."""
    fast = _written_lock(text)
    if fast is None:
        fast = _fast_lock(text)
    return fast if fast is not None else _checked_lock_file(text, where)


def _checked_lock_file(text: str, where: str) -> LockFile:
    """`loads_lock_file` with every field checked, saying what is wrong."""
    _refuse_conflict_markers(text, where)
    try:
        # every value's type is checked below: no need to walk the document for depth
        doc = untrusted.load_json(text, max_bytes=MAX_LOCK_BYTES, check_depth=False)
    except BadValue as e:
        raise LockError(f"{where}: {e}{_restore(where)}") from None
    return _lock_file(doc, where)


# A lock exactly as `LockText` writes it, shot by shot, when every shot is of the
# usual form (one take, picked): its text says each field's value, and the fields'
# patterns are untrusted's own, the checks of `_plain_entry` (a JSON string of these
# characters has no escape: the text between the quotes is the value)
_WRITTEN_HEAD = '{\n  "format_version": 2,\n  "shots": {\n'
_WRITTEN_TAIL = "  }\n}\n"
_WRITTEN_SHOT = re.compile(
    rf'    "({untrusted.SHOT_NAME})": \{{\n'
    rf'      "key": "({untrusted.SHA256})",\n'
    r'      "pick": 1,\n'
    r'      "takes": \{\n'
    r'        "1": \{\n'
    rf'          "built_at": "({untrusted.TIMESTAMP})",\n'
    r'          "duration": ((?:0|[1-9][0-9]{0,4})(?:\.[0-9]{1,20})?),\n'
    rf'          "key": "({untrusted.SHA256})",\n'
    rf'          "origin": "({untrusted.ORIGIN})",\n'
    rf'          "sha256": "({untrusted.SHA256})",\n'
    r'          "size": (0|[1-9][0-9]{0,11}),\n'  # below untrusted.MAX_SIZE (2**40)
    rf'          "video_id": "({untrusted.TOKEN})"\n'
    r"        \}\n"
    r"      \}\n"
    r"    \}(,?)\n"
)


def _written_lock(text: str) -> LockFile | None:
    """The lock in `text` when it is exactly as shotbuild writes it and every shot
    is of the usual form, read by one pattern per shot (no JSON decoder, no
    dictionary per object); None for anything else."""
    if not text.startswith(_WRITTEN_HEAD) or len(text) > MAX_LOCK_BYTES:
        return None
    match, at, end = _WRITTEN_SHOT.match, len(_WRITTEN_HEAD), len(text) - len(_WRITTEN_TAIL)
    intern, limit = sys.intern, untrusted.MAX_DURATION
    shots: dict[str, ShotTakes] = {}
    count, more = 0, True
    while more:
        found = match(text, at)
        if found is None:
            return None
        name, key, built_at, duration, take_key_, origin, sha, size, video_id, comma = (
            found.groups()
        )
        seconds = float(duration)
        if take_key_ != key or seconds > limit:
            return None
        entry = LockEntry(key, video_id, sha, int(size), seconds, intern(origin), intern(built_at))
        shots[name] = ShotTakes(key, {1: entry}, 1)
        count, at, more = count + 1, found.end(), comma == ","
    if at != end or text[end:] != _WRITTEN_TAIL or len(shots) != count:
        return None  # a shot named twice: the checked reader says so
    return LockFile(shots)


# The strings of one shot of the usual form (one take, picked) in a format-2 lock:
# its name, its 3 fields and its key, the take's number, the take's 7 fields and
# its 5 string values
_USUAL_SHOT_STRINGS = 18


def _fast_lock(text: str) -> LockFile | None:
    """The lock in `text` when it is of the usual form (format 2, every shot one
    take, picked, every field plainly right), read without the JSON decoder's
    per-object and per-number hooks; None for anything else, which the checked
    reader then reads (or refuses, saying why). It accepts only what that reader
    accepts, and reads it to the same value (tests/test_lock_fast.py):
    - a duplicate key: the text holds no backslash, so each of its '"' opens or
      closes a string; a key given twice is dropped by the decoder, so the text
      would hold more strings than the document read, whose every string is known;
    - NaN, Infinity and over-long floats: still refused by the decoder's hooks;
    - over-long integers: every integer read is one checked against a small bound."""
    if len(text) > MAX_LOCK_BYTES or "\\" in text:
        return None
    if any(marker in text for marker in _CONFLICT_MARKERS):
        return None
    try:
        doc = untrusted.load_json_unhooked(text)
    except Exception:
        return None
    if type(doc) is not dict or doc.keys() != _TOP_FIELDS:
        return None
    version, raw_shots = doc["format_version"], doc["shots"]
    if type(version) is not int or version != 2 or type(raw_shots) is not dict:
        return None
    if text.count('"') != 2 * (2 + _USUAL_SHOT_STRINGS * len(raw_shots)):
        return None
    shots: dict[str, ShotTakes] = {}
    for name, raw in raw_shots.items():
        shot = _usual_shot(raw) if is_shot_name(name) else None
        if shot is None:
            return None
        shots[name] = shot
    return LockFile(shots)


def _usual_shot(raw: Any) -> ShotTakes | None:
    """A shot of one take, picked, every field plainly right; else None."""
    if type(raw) is not dict or raw.keys() != _SHOT_FIELDS:
        return None
    key, pick, takes = raw["key"], raw["pick"], raw["takes"]
    if not (type(pick) is int and pick == 1 and type(takes) is dict and len(takes) == 1):
        return None
    entry = _plain_entry(takes.get("1"))
    if entry is None or entry.key != key:  # so the shot's key is a checked sha256 too
        return None
    return ShotTakes(entry.key, {1: entry}, 1)


def read_lock_text(path: Path) -> str | None:
    """The file's text, refusing what is not a regular file or is too large
    (a lock symlinked to /dev/zero or a FIFO is never read)."""
    try:
        data = read_regular(path, MAX_LOCK_BYTES)
    except FileRefused as e:
        if e.reason == FileRefused.MISSING:
            return None
        raise LockError(f"{path}: {e.said}{_restore(str(path))}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LockError(
            f"{path}: not UTF-8 text ({e.reason} at byte {e.start}){_restore(str(path))}"
        ) from None


def _refuse_conflict_markers(text: str, where: str) -> None:
    if not any(marker in text for marker in _CONFLICT_MARKERS):
        return  # the usual case, without splitting a large file into lines
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(_CONFLICT_MARKERS):
            raise LockError(
                f"{where}:{number}:1: git conflict markers; take one side"
                f" (`git checkout --theirs {where}`) and run `shotbuild build` to restore"
                " the rest; set up the merge driver (README, 'Working in a team') so git"
                " merges locks shot by shot next time"
            )


def _lock_file(doc: Any, where: str) -> LockFile:
    if not isinstance(doc, dict) or not isinstance(doc.get("shots"), dict):
        raise LockError(f"{where}: not a shotbuild lock (no 'shots' object){_restore(where)}")
    version = doc.get("format_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise LockError(
            f"{where}: lock format_version {show(version)} is not one this shotbuild reads"
            f" ({', '.join(map(str, READABLE_VERSIONS))}); upgrade shotbuild or restore the"
            " lock from git"
        )
    try:
        _only(doc, _TOP_FIELDS, "the lock")
    except BadValue as e:
        raise LockError(f"{where}: {e}{_restore(where)}") from None
    parse = _v1_shot if version == 1 else _v2_shot
    shots: dict[str, ShotTakes] = {}
    for name, raw in doc["shots"].items():
        try:
            untrusted.shot_name(name)
            shots[name] = parse(raw, name)
        except BadValue as e:
            raise LockError(f"{where}: shot {show(name)}: {e}{_restore(where)}") from None
    return LockFile(shots)


def _v1_shot(raw: Any, name: str) -> ShotTakes:
    return ShotTakes.single(parse_entry(raw))


def _v2_shot(raw: Any, name: str) -> ShotTakes:
    if type(raw) is dict and raw.keys() == _SHOT_FIELDS:
        key, pick, takes = raw["key"], raw["pick"], raw["takes"]
        if (
            type(pick) is int
            and pick == 1
            and type(takes) is dict
            and len(takes) == 1
            and "1" in takes
        ):
            entry = parse_entry(takes["1"])  # the usual shot: one take, picked
            if entry.key == key:  # so the shot's key is a checked sha256 too
                return ShotTakes(entry.key, {1: entry}, 1)  # one string for both
    return _checked_shot(raw, name)


def _checked_shot(raw: Any, name: str) -> ShotTakes:
    fields = untrusted.obj(raw, "a shot")
    _only(fields, _SHOT_FIELDS, "a shot")
    key = untrusted.sha256(fields.get("key"), "key")
    pick = untrusted.count(fields.get("pick"), "pick", limit=MAX_TAKE_NUMBER)
    takes: dict[int, LockEntry] = {}
    for number_text, entry in untrusted.obj(fields.get("takes"), "takes").items():
        number = _take_number(number_text)
        try:
            takes[number] = parse_entry(entry)
        except BadValue as e:
            raise BadValue(f"take {number}: {e}") from None
        if takes[number].key != take_key(key, number):
            raise BadValue(f"take {number}: its key is not take {number} of the shot's key")
    if pick not in takes:
        have = ", ".join(map(str, sorted(takes))) or "none"
        raise BadValue(
            f"picks take {pick}, which the lock does not have (takes: {have}); run"
            f" `shotbuild pick {name} N` with one of them or restore the lock from git"
        )
    return ShotTakes(key, takes, pick)


def _take_number(text: str) -> int:
    if not (text.isascii() and text.isdigit() and text[0] != "0" and len(text) <= 3):
        raise BadValue(f"a take number must be from 1 to {MAX_TAKE_NUMBER}, not {show(text)}")
    return int(text)


def _only(fields: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    """Exactly the `known` fields: none missing, none unknown."""
    missing, unknown = known - fields.keys(), fields.keys() - known
    if missing:
        raise BadValue(f"{what} lacks the field {show(min(missing))}")
    if unknown:
        raise BadValue(f"{what} has a field shotbuild does not know: {show(min(unknown))}")


def _restore(where: str) -> str:
    return (
        f"; restore it with `git checkout -- {where}` or delete it"
        " (outputs are then re-fetched or re-rendered)"
    )


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


# the picked view, for code that does not know takes yet


def dumps_lock(entries: Mapping[str, LockEntry]) -> str:
    return dumps_lock_file(LockFile.from_picked(entries))


def loads_lock(text: str, where: str = "shots.lock") -> dict[str, LockEntry]:
    return loads_lock_file(text, where).picked()


def read_lock(path: Path) -> dict[str, LockEntry]:
    """The picked take of every shot, by name; an absent lock file has none."""
    return read_lock_file(path).picked()


def write_lock(path: Path, entries: Mapping[str, LockEntry]) -> None:
    """Write shots of one take each (the entry, as take 1, picked). It keeps no
    other takes: code that knows takes writes a LockFile with `write_lock_file`."""
    write_lock_file(path, LockFile.from_picked(entries))
