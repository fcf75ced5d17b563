"""The no-op record: `shotbuild build` of a spec with nothing to do, answered
without parsing the spec.

After a build that did nothing (every shot up to date, nothing removed, nothing in
flight, no sequences, no remote cache), the ordinary path writes a record of what
that answer rested on, one per spec and run settings (the backend option and every
HEYGEN_*/SHOTBUILD_* variable but the API key, the shotbuild version and the stat
of each of its source files): the sha256 of the spec's bytes; a stamp (size,
mtime_ns, inode, ctime_ns) of the lock, the outputs manifest, the build folders,
the config files and the spec's list of jobs in flight (absent); each output's
stat as the manifest records it (what `plan` compares); each local reference's
stat with the sha256 its key was made of, and the folders on the way to it; and
the summary line. The next build with the same bytes and settings checks every
one of these with a stat and prints the same line. Anything that moved, and any
doubt about the record, sends the build the ordinary way (which writes a fresh
record when it again does nothing).

The record lives in the cache folder and is read as untrusted input: bounded,
versioned, each field checked; the paths it stats are built from the spec's own
path and from names that cannot leave their folder. A stamp whose time is within
RACY_NS of the moment it was taken is not trusted (a change in the same tick of
the file system's clock could keep it). This module imports only light standard
modules at the top: `fast_build` runs before click is imported."""

from __future__ import annotations

import os
import stat
import sys

from shotbuild import __version__, paths
from shotbuild.buildflags import JOBS, PLAIN_FLAGS

TYPE_CHECKING = False  # not typing's: importing typing costs the fast path its lead
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from shotbuild.build.options import BuildResult
    from shotbuild.plan import Plan
    from shotbuild.spec.model import Spec
    from shotbuild.store.cache import Cache

FORMAT = "shotbuild-noop 1"
MAX_RECORD_BYTES = 16 << 20
MAX_SPEC_BYTES = 8 << 20  # shotbuild.spec.load.MAX_BYTES: larger goes the ordinary way
RACY_NS = 2_000_000_000  # FAT's 2 s clock is the coarsest a build folder may have
FOLDER = "noop"
MANIFEST_NAME = ".shotbuild-outputs.json"  # shotbuild.store.outputs.MANIFEST_NAME
CONFIG_NAMES = ("shotbuild.toml", "pyproject.toml")  # shotbuild.config looks for these
BACKENDS = ("heygen", "preview")
SUBDIRS = ("", "preview")
_SECRET = frozenset({"HEYGEN_API_KEY"})
_FLAGS = frozenset(spelling for flag in PLAIN_FLAGS.values() for spelling in flag)
_SUMMARY_START = "shotbuild: 0 built, 0 restored, "


# -- the fast path -----------------------------------------------------------------------


class _Args:
    """A plain build's arguments (the rest are the command line's defaults)."""

    __slots__ = ("backend", "jobs", "keep_going", "quiet", "spec", "verbose", "yes")

    def __init__(self, spec: str | None, backend: str | None, flags: set[str], jobs: int) -> None:
        self.spec, self.backend, self.jobs = spec, backend, jobs
        self.quiet = not flags.isdisjoint(PLAIN_FLAGS["quiet"])
        self.verbose = not flags.isdisjoint(PLAIN_FLAGS["verbose"])
        self.keep_going = not flags.isdisjoint(PLAIN_FLAGS["keep_going"])
        self.yes = not flags.isdisjoint(PLAIN_FLAGS["yes"])


def fast_build(argv: Sequence[str]) -> int | None:
    """Exit code 0 with the summary printed when `argv` is a plain `build` whose
    record still holds; None for everything else (the ordinary path runs)."""
    args = plain_args(argv)
    if args is None:
        return None  # (a remote cache in the environment names another record, never written)
    if not (args.quiet or args.verbose) and _live_terminal():
        return None  # the live view's summary is rich's to print
    try:
        lines = _still_holds(args)
    except (OSError, ValueError):
        return None
    if lines is None:
        return None
    try:
        for line in lines:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    return 0


def plain_args(argv: Sequence[str]) -> _Args | None:
    """`build [SPEC] [-q] [-v] [-k] [-y] [-j N] [--backend NAME]` read as click reads
    it, else None (anything else, or anything click would refuse, is click's)."""
    if not argv or argv[0] != "build":
        return None
    spec: str | None = None
    backend: str | None = None
    jobs = JOBS
    flags: set[str] = set()
    rest = iter(argv[1:])
    for arg in rest:
        value: str | None = None
        if arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
        if arg in _FLAGS and value is None:
            flags.add(arg)
        elif arg in ("-j", "--jobs"):
            text = value if value is not None else next(rest, "")
            if not _jobs_ok(text):
                return None
            jobs = int(text)  # the last one counts, as in click
        elif arg == "--backend":
            backend = value if value is not None else next(rest, "")
            if backend not in BACKENDS:
                return None
        elif not arg.startswith("-") and spec is None and value is None and arg:
            spec = arg
        else:
            return None
    return _Args(spec, backend, flags, jobs)


def _jobs_ok(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= 64


def _live_terminal() -> bool:
    """shotbuild.progress._live_terminal for stderr."""
    return sys.stderr.isatty() and os.environ.get("TERM", "") not in ("dumb", "")


def _still_holds(args: _Args) -> list[str] | None:
    """The record's summary lines when every input it rests on is as recorded."""
    spec = os.path.realpath(args.spec if args.spec is not None else "shots.yaml")
    cache = paths.cache_dir_name()
    name = record_name(spec, args.backend, os.environ)
    text = _read_bounded(os.path.join(cache, FOLDER, name), MAX_RECORD_BYTES)
    record = _Record.parse(text.decode("utf-8")) if text is not None else None
    if record is None or record.spec != spec:
        return None
    data = _read_bounded(spec, MAX_SPEC_BYTES)
    if data is None or _sha256(data) != record.sha256:
        return None
    held = _hold_build_lock(cache, spec)
    if held is None:
        return None  # a build is running: it is waited for the ordinary way
    try:
        if stamps(spec, record.lock, record.build_dir, record.subdir) != record.stamps:
            return None
        if not _references_hold(record) or not _outputs_hold(record):
            return None
    finally:
        if held >= 0:
            os.close(held)
    return record.summary


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _read_bounded(path: str, limit: int) -> bytes | None:
    """At most `limit` bytes of a regular file (no link followed at the end); None
    when it is missing, not a regular file or larger."""
    from shotbuild.errors import FileRefused
    from shotbuild.regularfile import read_regular

    try:
        return read_regular(path, limit, follow=False)
    except FileRefused:
        return None


def _hold_build_lock(cache: str, spec: str) -> int | None:
    """A shared hold on the spec's build lock (so no build starts while the record is
    checked): its descriptor, -1 when no build ever ran here, None when a build holds
    it now."""
    import fcntl

    where = os.path.join(cache, "locks", paths.spec_digest(spec) + ".lock")
    try:
        fd = os.open(where, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _references_hold(record: _Record) -> bool:
    root = os.path.dirname(record.spec)
    for rel, want in record.references:
        st = os.lstat(os.path.join(root, rel))
        if not stat.S_ISREG(st.st_mode) or _file_stat(st) != want:
            return False
    for rel, ino in record.folders:
        st = os.lstat(os.path.join(root, rel))
        if not stat.S_ISDIR(st.st_mode) or st.st_ino != ino:
            return False
    return True


def _outputs_hold(record: _Record) -> bool:
    """Each output's stat is the one the manifest records (Owned.matches: a stat
    that follows links, as `plan` makes it)."""
    prefix, stat_of = os.path.join(record.build_dir, record.subdir, ""), os.stat
    for line in record.outputs:  # "<shot> <size> <mtime_ns> <inode>", checked here (hot)
        name, _, want = line.partition(" ")
        if "/" in name or not name[:1].isalnum():
            return False  # not a shot name: the path could leave its folder
        st = stat_of(prefix + name + ".mp4")
        if f"{st.st_size} {st.st_mtime_ns} {st.st_ino}" != want:
            return False
    return True


def _file_stat(st: os.stat_result) -> str:
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"


# -- what a record is keyed by and what it stamps -------------------------------------------


def record_name(spec: str, backend: str | None, environ: Mapping[str, str]) -> str:
    """The record's file name: a digest of the spec's path, the backend option, the
    settings in the environment (not the API key), shotbuild's version and code."""
    import hashlib

    env = sorted(
        f"{k}={v}"
        for k, v in environ.items()
        if k.startswith(("HEYGEN_", "SHOTBUILD_")) and k not in _SECRET
    )
    parts = [FORMAT, __version__, sys.version, code_stamp(), *_installed(), spec, backend or ""]
    parts += env
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:40]


_CODE: list[str] = []


def _installed() -> list[str]:
    """A stamp of each site-packages folder on the path: installing, upgrading or
    removing a package (PyYAML, jsonschema...) renames entries there."""
    return [f"{p} {_stamp(p)}" for p in sys.path if p.endswith("site-packages")]


def code_stamp() -> str:
    """The name, size and mtime of every file of the shotbuild package: a changed or
    reinstalled shotbuild is another one, whatever its version says."""
    if not _CODE:
        rows: list[str] = []
        _walk(os.path.dirname(os.path.abspath(__file__)), "", rows)
        _CODE.append("\n".join(sorted(rows)))
    return _CODE[0]


def _walk(folder: str, rel: str, rows: list[str]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                _walk(entry.path, rel + entry.name + "/", rows)
            else:
                st = entry.stat()
                rows.append(f"{rel}{entry.name} {st.st_size} {st.st_mtime_ns}")


def stamps(spec: str, lock: str, build_dir: str, subdir: str) -> str:
    """The stamps of what a no-op build reads by content (the lock, the manifest, the
    config files, the list of jobs in flight and its log) or lists (the build folders)."""
    cache = paths.cache_dir_name()
    inflight = os.path.join(cache, "inflight", paths.spec_digest(spec))
    # the list of jobs in flight and its log of changes not yet folded into it
    files = [lock, os.path.join(build_dir, MANIFEST_NAME), inflight + ".json", inflight + ".log"]
    files.append(build_dir)
    if subdir:
        files.append(os.path.join(build_dir, subdir))
    return " ".join([*(_stamp(f) for f in files), *_config_stamps(os.path.dirname(spec))])


def _stamp(path: str) -> str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"


def _config_stamps(start: str) -> list[str]:
    """Every file shotbuild.config.find_config may read for a spec in `start` (and a
    few more: the walk goes on past a pyproject.toml that may hold no table)."""
    out: list[str] = []
    folder = start
    while True:
        own, project = (_stamp(os.path.join(folder, n)) for n in CONFIG_NAMES)
        git = os.path.exists(os.path.join(folder, ".git"))
        out += [own, project, "git" if git else "-"]
        parent = os.path.dirname(folder)
        if own != "-" or git or parent == folder:
            return out
        folder = parent


# -- the record, on disk -------------------------------------------------------------------


class _Record:
    """What a no-op build rested on (see the module's doc)."""

    __slots__ = _FIELDS = (
        "spec",
        "sha256",
        "lock",
        "build_dir",
        "subdir",
        "stamps",
        "summary",  # the summary lines
        "references",  # [(path below the spec's folder, "size mtime inode")]
        "folders",  # [(folder below the spec's folder, inode)]
        "outputs",  # ["<shot name> <size> <mtime_ns> <inode>"], checked as they are used
    )

    spec: str
    sha256: str
    lock: str
    build_dir: str
    subdir: str
    stamps: str
    summary: list[str]
    references: list[tuple[str, str]]
    folders: list[tuple[str, int]]
    outputs: list[str]

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self._FIELDS, values, strict=True):
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Record) and all(
            getattr(self, n) == getattr(other, n) for n in self._FIELDS
        )

    __hash__ = None  # type: ignore[assignment]

    def dumps(self) -> str:
        lines = [
            FORMAT,
            self.spec,
            self.sha256,
            self.lock,
            self.build_dir,
            self.subdir,
            self.stamps,
            str(len(self.summary)),
            *self.summary,
            str(len(self.references)),
            *(f"{want} {rel}" for rel, want in self.references),
            str(len(self.folders)),
            *(f"{ino} {rel}" for rel, ino in self.folders),
            str(len(self.outputs)),
            *self.outputs,
            "end",
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> _Record | None:
        """The record in `text`, each field checked; None at the first doubt."""
        lines = text.split("\n")
        if len(lines) < 12 or lines[0] != FORMAT or lines[-2:] != ["end", ""]:
            return None
        spec, sha, lock, build_dir, subdir, stamped = lines[1:7]
        if not (_abs(spec) and _hex64(sha) and _abs(build_dir) and subdir in SUBDIRS):
            return None
        if not (_beside(lock, spec) and _inside(build_dir, os.path.dirname(spec))):
            return None
        sections: list[list[Any]] = []
        at = 7
        for check in (_summary_line, _reference, _folder, None):
            items, at = _section(lines, at, check)
            if items is None:
                return None
            sections.append(items)
        if at != len(lines) - 2:
            return None
        return cls(spec, sha, lock, build_dir, subdir, stamped, *sections)


def _section(lines: list[str], at: int, check: Any) -> tuple[list[Any] | None, int]:
    """A count line, then that many lines each read by `check` (None: not valid;
    no `check`: the lines as they are, checked where they are used)."""
    count = lines[at] if at < len(lines) else ""
    if not (count.isdigit() and len(count) <= 7) or at + 1 + int(count) > len(lines) - 2:
        return None, at
    end = at + 1 + int(count)
    if check is None:
        return lines[at + 1 : end], end
    items = [check(line) for line in lines[at + 1 : end]]
    return (None if None in items else items), end


def _summary_line(line: str) -> str | None:
    ok = line.startswith(_SUMMARY_START) and len(line) <= 400 and line.isprintable()
    return line if ok else None


def _stat_text(text: str) -> bool:
    parts = text.split(" ")
    return len(parts) == 3 and all(p.isdigit() and len(p) <= 20 for p in parts)


def _reference(line: str) -> tuple[str, str] | None:
    parts = line.split(" ", 3)
    if len(parts) != 4 or not _stat_text(" ".join(parts[:3])) or not _below(parts[3]):
        return None
    return parts[3], " ".join(parts[:3])


def _folder(line: str) -> tuple[str, int] | None:
    ino, _, rel = line.partition(" ")
    if not (ino.isdigit() and len(ino) <= 20 and _below(rel)):
        return None
    return rel, int(ino)


def _shot_name(name: str) -> bool:
    """Enough of the shot-name rule that `<folder>/<name>.mp4` stays in its folder."""
    return 0 < len(name) <= 100 and name[0].isalnum() and name.isascii() and "/" not in name


def _abs(path: str) -> bool:
    return os.path.isabs(path) and os.path.normpath(path) == path and path.isprintable()


def _hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _beside(lock: str, spec: str) -> bool:
    return _abs(lock) and os.path.dirname(lock) == os.path.dirname(spec) and lock.endswith(".lock")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(os.path.join(root, ""))


def _below(rel: str) -> bool:
    """A relative path below a folder: no `..`, not absolute, printable."""
    return (
        bool(rel)
        and not os.path.isabs(rel)
        and os.path.normpath(rel) == rel
        and rel.split(os.sep)[0] != ".."
        and rel.isprintable()
    )


# -- writing a record, after a build that did nothing ----------------------------------------


class Watch:
    """Taken before a build reads anything (after the spec is loaded): the stamps
    then. `finish` writes the record when the build did nothing and no stamp moved."""

    def __init__(self, spec: Spec, backend: str | None) -> None:
        self.spec = spec
        self.backend = backend
        self.name = record_name(str(spec.path), backend, os.environ)
        self.before = self._stamps(spec.build_dir, "")
        self.folder = os.path.join(paths.cache_dir_name(), FOLDER)

    def _stamps(self, build_dir: Any, subdir: str) -> str:
        return stamps(str(self.spec.path), str(self.spec.lock_path), str(build_dir), subdir)

    def finish(self, result: BuildResult, cache: Cache) -> None:
        """Write the record of `result`'s build, if it did nothing; else remove it."""
        where = os.path.join(self.folder, self.name)
        record = self._record(result, cache)
        try:
            if record is None:
                if os.path.exists(where):
                    os.unlink(where)
                return
            _write(where, record.dumps())
        except OSError:
            pass  # a record is an optimisation: the next build takes the ordinary path

    def _record(self, result: BuildResult, cache: Cache) -> _Record | None:
        from shotbuild.progress import summary_lines

        spec, plan = self.spec, result.plan
        if not _did_nothing(result) or spec.sequences or not spec.source_sha256:
            return None
        subdir = _subdir_of(plan)
        if subdir is None or plan.build_dir != spec.build_dir:
            return None
        now = self._stamps(spec.build_dir, "")
        after = self._stamps(spec.build_dir, subdir)
        if now != self.before or _racy(after):
            return None
        references = _references(spec, plan, cache)
        outputs = _outputs(plan, subdir)
        if references is None or outputs is None:
            return None
        refs, folders = references
        if _racy(" ".join(want.replace(" ", ":") for _, want in refs)):
            return None
        summary = summary_lines(result)
        record = _Record(
            str(spec.path),
            spec.source_sha256,
            str(spec.lock_path),
            str(spec.build_dir),
            subdir,
            after,
            summary,
            refs,
            folders,
            outputs,
        )
        return record if _Record.parse(record.dumps()) == record else None


def _write(where: str, text: str) -> None:
    """Replace the file at `where` in one step. Not synced: a record a crash left
    torn fails its checks (counts, the closing line) and is ignored."""
    import contextlib

    os.makedirs(os.path.dirname(where), exist_ok=True)
    tmp = f"{where}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, where)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _did_nothing(result: BuildResult) -> bool:
    from shotbuild.plan import Settled
    from shotbuild.status import ShotStatus

    plan = result.plan
    busy = (result.built, result.restored, result.failed, result.removed, result.skipped)
    if any(busy) or result.cached or result.dry_run or result.paid_renders:
        return False
    if plan.orphans or plan.settled or len(result.up_to_date) != len(plan.spec.shots):
        return False
    if any(shot.takes != 1 for shot in plan.spec.shots):
        return False  # takes: N has its own work and notes: always the ordinary path
    return all(isinstance(i, Settled) and i.status == ShotStatus.UP_TO_DATE for i in plan.items)


def _subdir_of(plan: Plan) -> str | None:
    """The output folder below the build folder the plan's outputs are in ("" or
    "preview"), None when they are anywhere else."""
    if not plan.items:
        return None
    for subdir in SUBDIRS:
        prefix = os.path.join(str(plan.build_dir), subdir, "")
        if all(i.where == f"{prefix}{i.name}.mp4" for i in plan.items):
            return subdir
    return None


def _racy(stamped: str) -> bool:
    """Whether a stamp's mtime or ctime is too close to now to tell a later change."""
    import time

    limit = time.time_ns() - RACY_NS
    for part in stamped.split(" "):
        times = part.split(":")[1:] if ":" in part else []
        if any(int(t) >= limit for t in times[:1] + times[2:3]):
            return True
    return False


def _outputs(plan: Plan, subdir: str) -> list[str] | None:
    """Each output's stat as the manifest records it (what made the plan call it
    up to date), by shot name."""
    out: list[str] = []
    for item in plan.items:
        owned = plan.outputs.get(f"{subdir}/{item.name}.mp4" if subdir else f"{item.name}.mp4")
        if owned is None or owned.key != item.key or not _shot_name(item.name):
            return None
        out.append(f"{item.name} {owned.size} {owned.mtime_ns} {owned.inode}")
    return out


def _references(
    spec: Spec, plan: Plan, cache: Cache
) -> tuple[list[tuple[str, str]], list[tuple[str, int]]] | None:
    """Each local reference's stat, checked to be the one whose sha256 its shot's
    key holds, and the folders between the spec's and it; None at any doubt."""
    from shotbuild.plan import ShotItem

    root = str(spec.root)
    refs: dict[str, str] = {}
    folders: dict[str, int] = {}
    for item in plan.items:
        if not isinstance(item, ShotItem):
            return None
        keyed = item.request.get("references") or []
        for i, ref in enumerate(item.shot.references):
            if ref.type != "file":
                continue
            sha = keyed[i].get("sha256") if i < len(keyed) else None
            rel = os.path.normpath(ref.path or "")
            want = _reference_stat(root, rel, sha, plan, cache)
            if want is None or not _below(rel) or not _folders(root, rel, folders):
                return None
            refs[rel] = want
    return sorted(refs.items()), sorted(folders.items())


def _reference_stat(root: str, rel: str, sha: Any, plan: Plan, cache: Cache) -> str | None:
    """The file's stat now, when it is the one the stat cache ties to `sha`."""
    from pathlib import Path

    where = str((Path(root) / rel).resolve())
    row = plan.hashed.get(where) or cache.stat_load(where)
    st = os.lstat(os.path.join(root, rel))
    if row is None or row[3] != sha or not stat.S_ISREG(st.st_mode):
        return None
    want = _file_stat(st)
    return want if want == f"{row[0]} {row[1]} {row[2]}" else None


def _folders(root: str, rel: str, folders: dict[str, int]) -> bool:
    """Add each folder from the spec's folder down to `rel`'s (real folders only)."""
    parts = rel.split(os.sep)[:-1]
    for n in range(1, len(parts) + 1):
        sub = os.sep.join(parts[:n])
        st = os.lstat(os.path.join(root, sub))
        if not stat.S_ISDIR(st.st_mode):
            return False
        folders[sub] = st.st_ino
    return True


def forget_all(cache_dir: str | None = None) -> None:
    """Remove every record (something they may not capture changed, e.g. the type
    name an API origin accepts)."""
    folder = os.path.join(cache_dir or paths.cache_dir_name(), FOLDER)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    import contextlib

    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
