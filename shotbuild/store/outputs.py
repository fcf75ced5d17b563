"""The manifest of outputs shotbuild owns in a build folder.

`<build_dir>/.shotbuild-outputs.json` records, for each file shotbuild wrote
there, its key, sha256 and stat (size, mtime_ns, inode). An output is "right"
when its stat still matches, so checking a build costs one stat per shot and
no reads; and only files listed here are ever replaced or removed.

The manifest lives in the build folder, so it may arrive in a pull request: it is
not a trust root. It is read with bounded size and depth, each entry checked field
by field (a path is `[<backend folder>/]<shot name>.mp4` or a take's
`takes/<shot name>/<n>.mp4`, never `..` or absolute),
and shotbuild removes or replaces a file only when it is inside the build folder,
reached without a symbolic link, a regular file, and its bytes are still the ones
recorded (same size, mtime and inode as a fast path, else the same sha256). A file
a person put in an output's place is theirs: it is left alone."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, Literal, NamedTuple

from shotbuild import untrusted
from shotbuild.errors import FileRefused, ShotbuildError
from shotbuild.fs import atomic_write_text, atomic_writer
from shotbuild.regularfile import read_regular_stat
from shotbuild.store.jsontext import Members, object_text
from shotbuild.store.lock import LockEntry
from shotbuild.store.pace import Pace
from shotbuild.untrusted import is_sha256, is_shot_name, is_token

MANIFEST_NAME = ".shotbuild-outputs.json"
MANIFEST_FORMAT = 1
MAX_MANIFEST_BYTES = 64 << 20
_NAME = untrusted.SHOT_NAME
# a shot's output ([<backend folder>/]<shot>.mp4), or one of its takes (takes/<shot>/<n>.mp4)
_REL = re.compile(rf"(?:[a-z]{{1,20}}/)?{_NAME}\.mp4|takes/{_NAME}/[1-9][0-9]{{0,2}}\.mp4")
_INT64 = 1 << 63

State = Literal["absent", "ours", "foreign"]


class OutputInTheWay(ShotbuildError):
    """A file shotbuild did not write (or changed since) is where an output goes."""


class DamagedBlob(ShotbuildError):
    """A cached render's bytes do not hash to its name: it is not placed."""


class Owned(NamedTuple):
    """A file of the build folder shotbuild wrote: whose, its bytes and its stat.
    A NamedTuple, not a dataclass: a no-op build reads one per shot and must not
    import `dataclasses` (it is never encoded as a tuple: `_owned_json` gives its
    object)."""

    shot: str
    backend: str
    key: str
    sha256: str
    size: int
    mtime_ns: int
    inode: int
    title: str | None = None
    callback_url: str | None = None
    # enough to write the shot's lock entry again from the output alone
    video_id: str | None = None
    duration: float | None = None
    origin: str | None = None
    built_at: str | None = None
    spec: str | None = None  # the spec that wrote it: specs may share a build folder

    def replace(self, **changes: Any) -> Owned:
        """A copy with `changes` (what dataclasses.replace did)."""
        return self._replace(**changes)

    def belongs_to(self, spec_path: Path) -> bool:
        return self.spec is None or self.spec == str(spec_path)

    def lock_entry(self) -> LockEntry | None:
        if self.video_id is None or self.origin is None or self.built_at is None:
            return None
        size, duration = self.size, float(self.duration or 0)
        return LockEntry(
            self.key, self.video_id, self.sha256, size, duration, self.origin, self.built_at
        )

    def matches(self, path: Path | str) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns, st.st_ino) == (self.size, self.mtime_ns, self.inode)


class Manifest:
    """Owned outputs by path relative to the build folder (e.g. preview/a.mp4)."""

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self.path = build_dir / MANIFEST_NAME
        self.entries: dict[str, Owned] = {}
        self.save_every = 0.0  # seconds between saves; 0: save on every change
        self._pace = Pace()  # and fewer saves as the manifest grows (a build's batches)
        self._dirty = False
        self._touched: set[str] = set()  # what this process changed (merged on save)
        self._stamp: Stamp | None = None  # of the file as last read or written here
        self._text = Members(2, ensure_ascii=True, sort_keys=True)
        self.entries = self._load()

    def _load(self) -> dict[str, Owned]:
        """The entries on disk; a damaged or hostile manifest is read as empty. That
        only costs ownership knowledge: outputs are then re-checked by content
        against the lock, and nothing unknown is overwritten or removed."""
        self._stamp = None
        try:
            data, stamp = _read_regular(self.path, MAX_MANIFEST_BYTES)
            text = data.decode("utf-8")
            del data  # not kept beside the text while the document is built (peak memory)
            # the quickest of three readers that reads it: each accepts only what the
            # checked one accepts, to the same entries (tests/test_lock_fast.py)
            entries = _written_entries(text)
            if entries is None:
                entries = _usual_entries(text)
            if entries is None:
                entries = _checked_entries(text)
        except (FileRefused, ValueError, untrusted.BadValue):
            return {}
        self._stamp = stamp
        return entries

    def path_of(self, rel: str) -> Path:
        return self.build_dir / safe_rel(rel)

    def state(self, rel: str) -> State:
        """Whether the file at `rel` is absent, still the one shotbuild wrote
        ("ours"), or something else ("foreign": a person's file, a link, a folder)."""
        path = self.path_of(rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return "absent" if _no_link_between(self.build_dir, path) else "foreign"
        owned = self.entries.get(rel)
        if owned is None or not stat.S_ISREG(st.st_mode):
            return "foreign"
        if not _no_link_between(self.build_dir, path):
            return "foreign"
        if (st.st_size, st.st_mtime_ns, st.st_ino) == (owned.size, owned.mtime_ns, owned.inode):
            return "ours"
        return "ours" if _sha256_no_follow(path) == owned.sha256 else "foreign"

    def remove(self, rel: str) -> bool:
        """Remove the output at `rel` if it is still shotbuild's; True if removed.
        The entry is forgotten either way (a file that is not ours is not tracked)."""
        removed = False
        if self.state(rel) == "ours":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path_of(rel))
            removed = True
        self.forget(rel)
        return removed

    def place(self, rel: str, blob: Path, sha256: str) -> None:
        """Make the output at `rel` hold the verified bytes of `blob` (named by its
        sha256). Raises OutputInTheWay when a file that is not shotbuild's is there
        (unless it already has exactly these bytes), DamagedBlob when `blob`'s bytes
        do not hash to `sha256` (then nothing is placed)."""
        untrusted.sha256(sha256)
        path, owned = self.path_of(rel), self.entries.get(rel)
        state = self.state(rel)
        if state == "ours" and owned is not None and owned.sha256 == sha256:
            return
        if state != "absent" and _sha256_no_follow(path) == sha256:
            return  # the right bytes are already there (written, then killed before recording)
        if state == "foreign" and path.is_dir():
            raise OutputInTheWay(f"{path}: Is a directory; move it away and build again")
        if state == "foreign":
            raise OutputInTheWay(
                f"{path} exists and was not written by shotbuild (or was changed since);"
                " move it away and build again"
            )
        copy_verified(blob, path, sha256)

    def get(self, rel: str) -> Owned | None:
        return self.entries.get(rel)

    def record(self, rel: str, owned_without_stat: dict[str, Any]) -> Owned:
        st = os.lstat(f"{self.build_dir}{os.sep}{safe_rel(rel)}")  # path_of without a Path
        owned = Owned(
            **owned_without_stat, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino
        )
        self.put(rel, owned)
        return owned

    def put(self, rel: str, owned: Owned) -> None:
        self.entries[rel] = owned
        self._touched.add(rel)
        self.changed()

    def forget(self, rel: str) -> None:
        if self.entries.pop(rel, None) is not None:
            self._touched.add(rel)
            self.changed()

    def changed(self) -> None:
        """Save now, or within `save_every` seconds when batching (a build of many
        shots; longer as the manifest grows, see `Pace`). An output written but not
        yet recorded is harmless: the next build finds it has the right bytes (by
        sha256) and records it then."""
        self._dirty = True
        if not self.save_every or self._pace.due_in(self.save_every) <= 0:
            self.flush()

    def flush(self) -> None:
        if self._dirty:
            self.save()

    def save(self) -> None:
        """Apply this process's changes to the manifest as it is on disk now (another
        spec's build may share the folder), under a lock on the folder itself."""
        self._dirty = False
        if not self._touched:
            return
        with self._pace.writing():
            self._save()

    def _save(self) -> None:
        self.build_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.build_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            merged = self._merged()
            atomic_write_text(self.path, self._dumps(merged))
            self._stamp = _stamp_of(self.path)
            self.entries = merged
            self._touched.clear()
        finally:
            os.close(fd)  # closing releases the lock

    def _merged(self) -> dict[str, Owned]:
        """This process's changes over the file as it is now; the file is read again
        only when another process wrote it since (its stat is not the one seen here)."""
        if self._stamp is not None and _stamp_of(self.path) == self._stamp:
            return self.entries
        merged = self._load()
        for rel in self._touched:
            if rel in self.entries:
                merged[rel] = self.entries[rel]
            else:
                merged.pop(rel, None)
        return merged

    def _dumps(self, entries: dict[str, Owned]) -> str:
        """What json.dumps(doc, indent=2, sort_keys=True) gives, each entry encoded
        once per change (not the whole manifest on every save)."""
        self._text.keep_only(entries)
        outputs = object_text(
            (self._text.text(r, entries[r], _owned_json) for r in sorted(entries)), 1
        )
        top = (f'  "format_version": {MANIFEST_FORMAT}', f'  "outputs": {outputs}')
        return object_text(top, 0) + "\n"


def _checked_entries(text: str) -> dict[str, Owned]:
    """The manifest's entries, each field checked; BadValue or ValueError at the
    first that is not right."""
    # every entry's every field is type-checked below (objects of scalars), so
    # only the rest of the document is walked for depth
    doc = untrusted.obj(untrusted.load_json(text, check_depth=False), "the manifest")
    untrusted.check_depth({k: v for k, v in doc.items() if k != "outputs"})
    outputs = untrusted.obj(doc.get("outputs", {}), "outputs")
    return {safe_rel(rel): owned_from_json(raw) for rel, raw in outputs.items()}


_TOP = frozenset(("format_version", "outputs"))

# A manifest exactly as `Manifest._dumps` writes it, entry by entry: its text says
# each field's value, and the patterns (untrusted's own) are the checks of `_fast_owned` (a JSON
# string of these characters has no escape: the text between the quotes is the value)
_WRITTEN_HEAD = f'{{\n  "format_version": {MANIFEST_FORMAT},\n  "outputs": {{\n'
_WRITTEN_TAIL = "  }\n}\n"
_TEXT = r'(?:null|"([^"\\\x00-\x1f]{0,4096})")'  # _plain_text
_WRITTEN_ENTRY = re.compile(
    rf'    "({_REL.pattern})": \{{\n'
    rf'      "backend": "({untrusted.TOKEN})",\n'
    rf'      "built_at": {_TEXT},\n'
    rf'      "callback_url": {_TEXT},\n'
    r'      "duration": (?:null|((?:0|[1-9][0-9]{0,4})(?:\.[0-9]{1,20})?)),\n'
    r'      "inode": (0|[1-9][0-9]{0,18}),\n'
    rf'      "key": "({untrusted.SHA256})",\n'
    r'      "mtime_ns": (0|[1-9][0-9]{0,18}),\n'
    rf'      "origin": {_TEXT},\n'
    rf'      "sha256": "({untrusted.SHA256})",\n'
    rf'      "shot": "({untrusted.SHOT_NAME})",\n'
    r'      "size": (0|[1-9][0-9]{0,12}),\n'
    rf'      "spec": {_TEXT},\n'
    rf'      "title": {_TEXT},\n'
    rf'      "video_id": (?:null|"({untrusted.TOKEN})")\n'
    r"    \}(,?)\n"
)


def _written_entries(text: str) -> dict[str, Owned] | None:
    """The entries of a manifest exactly as shotbuild writes it, read by one pattern
    per entry (no JSON decoder, no dictionary per entry); None for anything else."""
    if not text.startswith(_WRITTEN_HEAD):
        return None
    match, at, end = _WRITTEN_ENTRY.match, len(_WRITTEN_HEAD), len(text) - len(_WRITTEN_TAIL)
    intern, most = sys.intern, untrusted.MAX_DURATION
    entries: dict[str, Owned] = {}
    count, more = 0, True
    while more:
        found = match(text, at)
        if found is None:
            return None
        rel, backend, built_at, callback_url, duration, inode, key, mtime, *rest = found.groups()
        origin, sha, shot, size, spec, title, video_id, comma = rest
        seconds = None if duration is None else float(duration)
        numbers = int(size), int(mtime), int(inode)
        if numbers[0] > untrusted.MAX_SIZE or max(numbers[1:]) > _INT64:
            return None
        if seconds is not None and seconds > most:
            return None
        entries[rel] = Owned(
            shot,
            intern(backend),
            key,
            sha,
            *numbers,
            title,
            callback_url,
            video_id,
            seconds,
            None if origin is None else intern(origin),
            None if built_at is None else intern(built_at),
            None if spec is None else intern(spec),
        )
        count, at, more = count + 1, found.end(), comma == ","
    if at != end or text[end:] != _WRITTEN_TAIL or len(entries) != count:
        return None  # a path given twice: the checked reader refuses the manifest
    return entries


def _usual_entries(text: str) -> dict[str, Owned] | None:
    """The entries of a manifest of the usual form (as shotbuild writes it: its
    format and its outputs, every entry plainly right), read without the JSON
    decoder's per-object and per-number hooks; None for anything else, which
    `_checked_entries` then reads. It accepts only what that reader accepts, and
    reads it to the same entries (tests/test_lock_fast.py), as `store.lock._fast_lock`
    does: no backslash in the text, so its '"' count says how many strings it holds,
    and a key given twice (dropped by the decoder) would make it more than the
    strings of the document read; every integer read is checked against a bound
    below 20 digits; NaN, Infinity and over-long floats are still refused."""
    if len(text) > MAX_MANIFEST_BYTES or "\\" in text:
        return None
    try:
        doc = untrusted.load_json_unhooked(text)
    except Exception:
        return None
    if type(doc) is not dict or doc.keys() != _TOP:
        return None
    version, outputs = doc["format_version"], doc["outputs"]
    if type(version) is not int or version != MANIFEST_FORMAT or type(outputs) is not dict:
        return None
    strings = 2  # "format_version" and "outputs"
    entries: dict[str, Owned] = {}
    for rel, raw in outputs.items():
        owned = _fast_owned(raw) if _REL.fullmatch(rel) else None
        if owned is None:
            return None
        # its path, its field names and its string values (4 always there)
        strings += 5 + len(raw) + _optional_strings(owned)
        entries[rel] = owned
    return entries if text.count('"') == 2 * strings else None


def _optional_strings(owned: Owned) -> int:
    """How many of the fields that may be null are strings."""
    return (
        (owned.title is not None)
        + (owned.callback_url is not None)
        + (owned.video_id is not None)
        + (owned.origin is not None)
        + (owned.built_at is not None)
        + (owned.spec is not None)
    )


def safe_rel(rel: Any) -> str:
    """An output's path in the build folder as the manifest may name it."""
    if not isinstance(rel, str) or not _REL.fullmatch(rel):
        raise untrusted.BadValue(
            f"output path {untrusted.show(rel)} is not <shot>.mp4 or takes/<shot>/<n>.mp4"
        )
    return rel


def owned_from_json(raw: Any) -> Owned:
    """One manifest entry, each field checked (unknown fields refused). The manifest
    of a no-op build is read on every build, so a well-formed entry takes one fast
    test and only a bad one goes through the checks that explain it."""
    fast = _fast_owned(raw)
    return fast if fast is not None else _checked_owned(raw)


_OWNED_FIELDS = Owned._fields
_OWNED_NAMES = frozenset(_OWNED_FIELDS)
_REQUIRED = frozenset(("shot", "backend", "key", "sha256", "size", "mtime_ns", "inode"))


def _fast_owned(raw: Any) -> Owned | None:
    """The entry when every field is plainly right (the same tests as
    `_checked_owned`, without building a message), else None. Owned is made from
    its fields in order (a call by keyword of its 14 fields cost more than the tests)."""
    if type(raw) is not dict or not _REQUIRED <= raw.keys() <= _OWNED_NAMES:
        return None
    key, sha, shot, backend = raw["key"], raw["sha256"], raw["shot"], raw["backend"]
    size, mtime, inode = raw["size"], raw["mtime_ns"], raw["inode"]
    get = raw.get
    video_id, duration, title = get("video_id"), get("duration"), get("title")
    callback_url, origin, built_at, spec = (
        get("callback_url"),
        get("origin"),
        get("built_at"),
        get("spec"),
    )
    if not (
        type(key) is str
        and is_sha256(key)
        and type(sha) is str
        and is_sha256(sha)
        and type(shot) is str
        and is_shot_name(shot)
        and type(backend) is str
        and is_token(backend)
        and (video_id is None or (type(video_id) is str and is_token(video_id)))
        and type(size) is int
        and 0 <= size <= untrusted.MAX_SIZE
        and type(mtime) is int
        and 0 <= mtime <= _INT64
        and type(inode) is int
        and 0 <= inode <= _INT64
        and (
            duration is None
            or (type(duration) in (int, float) and 0 <= duration <= untrusted.MAX_DURATION)
        )
        and _plain_text(title)
        and _plain_text(callback_url)
        and _plain_text(origin)
        and _plain_text(built_at)
        and _plain_text(spec)
    ):
        return None
    intern = sys.intern  # the same in most entries: one string each
    return Owned(
        shot,
        intern(backend),
        key,
        sha,
        size,
        mtime,
        inode,
        title,
        callback_url,
        video_id,
        None if duration is None else float(duration),
        None if origin is None else intern(origin),
        None if built_at is None else intern(built_at),
        None if spec is None else intern(spec),
    )


def _plain_text(value: Any) -> bool:
    return value is None or (type(value) is str and len(value) <= 4096)


def _checked_owned(raw: Any) -> Owned:
    doc = untrusted.obj(raw, "a manifest entry")
    known = _OWNED_NAMES
    if set(doc) - known:
        raise untrusted.BadValue(f"unknown fields {sorted(set(doc) - known)[:3]}")
    opt = {k: doc.get(k) for k in ("title", "callback_url", "spec", "origin", "built_at")}
    for key, value in opt.items():
        if value is not None:
            untrusted.text(value, key, limit=4096)
    return Owned(
        shot=untrusted.shot_name(doc.get("shot")),
        backend=untrusted.token(doc.get("backend"), "backend"),
        key=untrusted.sha256(doc.get("key"), "key"),
        sha256=untrusted.sha256(doc.get("sha256")),
        size=untrusted.count(doc.get("size"), "size"),
        mtime_ns=untrusted.count(doc.get("mtime_ns"), "mtime_ns", limit=_INT64),
        inode=untrusted.count(doc.get("inode"), "inode", limit=_INT64),
        video_id=_opt(untrusted.token, doc.get("video_id"), "video_id"),
        duration=_opt(untrusted.seconds, doc.get("duration"), "duration"),
        **opt,
    )


def _opt(check: Any, value: Any, what: str) -> Any:
    return None if value is None else check(value, what)


def _no_link_between(root: Path, path: Path) -> bool:
    """Whether each folder from `root` down to `path`'s parent is a real folder
    (not a symbolic link that would lead outside the build folder)."""
    folder = path.parent
    while folder != root and root in folder.parents:
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return False
        except FileNotFoundError:
            pass
        folder = folder.parent
    return folder == root


Stamp = tuple[int, int, int]  # (size, mtime_ns, inode) of a file


def _stamp_of(path: Path) -> Stamp | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _owned_json(owned: Owned) -> dict[str, Any]:
    """An entry's fields, in order."""
    return owned._asdict()


def _read_regular(path: Path, limit: int) -> tuple[bytes, Stamp]:
    """At most `limit` bytes of a regular file, opened without following a link
    (a manifest linked to /dev/zero or a FIFO is refused, not read forever), and
    the stamp of the very file read."""
    data, st = read_regular_stat(path, limit, follow=False)
    return data, (st.st_size, st.st_mtime_ns, st.st_ino)


def _sha256_no_follow(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        digest = hashlib.sha256()
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def copy_verified(src: Path, dest: Path, sha256: str) -> None:
    """Copy `src` to `dest` atomically, hashing the bytes on the way: when they do
    not hash to `sha256`, `dest` is left as it was and DamagedBlob is raised."""
    digest = hashlib.sha256()
    try:
        with open(src, "rb") as fin, atomic_writer(dest) as fout:
            while block := fin.read(1 << 20):
                digest.update(block)
                fout.write(block)
            if digest.hexdigest() != sha256:
                raise DamagedBlob(
                    f"the cached render {sha256[:12]} is damaged (its bytes hash to"
                    f" {digest.hexdigest()[:12]}); run `shotbuild gc` and build again"
                )
    except FileNotFoundError:
        raise DamagedBlob(f"the cached render {sha256[:12]} is missing; build again") from None
