"""The machine-local cache: a diskcache index plus content-addressed blobs.

Index entries, all keyed by strings:
  job:<key>      the job record of a paid render (intent, video_id, state, failure)
  result:<key>   the finished render of a key (a LockEntry)
  request:<key>  the normalised request of a key (so `plan` can say what changed)
  stat:<path>    (size, mtime_ns, inode, sha256) of a local reference file
  asset:<origin>:<sha256>   the asset_id an upload of those bytes got
  spec:<path>    a spec this cache has built (for `gc`)
Blobs are files under blobs/<sha[:2]>/<sha>, moved into place atomically.
Jobs not yet finished are also listed per spec (key -> shot) in a small file,
inflight/<digest of the spec path>.json, so a build still finishes a job whose
shot was edited while it rendered, and a no-op build reads one file, not the index.
A build appends its changes to inflight/<digest>.log (a line per job listed, before
its create is sent, or taken off) and folds the log into the list at its end.
The index is opened on first use, so a no-op build with no local references
never opens it.

Writes that a kill may lose (a finished render's result and records, a job's done
record: its video_id is on record, so the next build polls and downloads it again,
for free) can be staged: they are written in the next transaction, the one that
records the next job's intent or video_id (each a commit the build must make
anyway), or by `commit`. A commit is most of an index write's cost; a build paid
five per shot. A read of a staged entry commits first."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from shotbuild import paths, untrusted
from shotbuild.errors import ShotbuildError
from shotbuild.fs import DiskFull, disk_error
from shotbuild.store.lock import LockEntry

JOB_INTENT = "intent"  # the create is about to be sent (or was, and its answer was lost)
JOB_SUBMITTED = "submitted"  # HeyGen answered with a video_id
JOB_FAILED = "failed"  # the render failed; the next build submits a new attempt
JOB_DONE = "done"


class JobRecord(NamedTuple):
    """A remote job of a shot's key: its intent, then its video_id, then its end. A
    NamedTuple, not a dataclass: the no-op build imports this module and must not
    import `dataclasses` (it is stored as `to_json`'s dict, never as a tuple)."""

    key: str
    shot: str
    origin: str
    idempotency_key: str
    attempt: int
    state: str
    video_id: str | None = None
    submitted_at: float | None = None  # wall clock (time.time) of the create
    failure_code: str | None = None
    failure_message: str | None = None

    def replace(self, **changes: Any) -> JobRecord:
        """A copy with `changes` (what dataclasses.replace did)."""
        return self._replace(**changes)

    def to_json(self) -> dict[str, Any]:
        """The fields in their order, as `dataclasses.asdict` gave them (every value is
        a str, int, float or None: its deep copy is a cost with nothing to copy)."""
        return {
            "key": self.key,
            "shot": self.shot,
            "origin": self.origin,
            "idempotency_key": self.idempotency_key,
            "attempt": self.attempt,
            "state": self.state,
            "video_id": self.video_id,
            "submitted_at": self.submitted_at,
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
        }


class BuildLocked(ShotbuildError):
    """Another shotbuild build holds the spec."""


class Cache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else paths.cache_dir()
        self._index: Any = None
        # the lists of jobs in flight this cache changed (it holds their spec's build lock)
        self._flying: dict[Path, dict[str, str]] = {}
        self._flight_paths: dict[Path, Path] = {}
        self._staged: list[Callable[[], object]] = []  # index writes for the next commit
        self._staged_names: set[str] = set()  # the entries they write
        self._untrack: dict[Path, list[str]] = {}  # jobs taken off once that commit is made
        self._folders: set[Path] = set()  # folders of the cache known to exist
        self._logs: dict[Path, int] = {}  # the in-flight logs this cache appends to, open
        self._requests: dict[str, dict[str, Any]] = {}  # the requests this cache wrote

    @property
    def index(self) -> Any:
        if self._index is None:
            import diskcache

            where = self.directory / "index"
            with _index_errors(where):
                self.directory.mkdir(parents=True, exist_ok=True)
                # never evict: job records are what make a killed build safe to re-run;
                # and no culling (nothing here expires): it cost a query per write
                index = diskcache.Cache(str(where), eviction_policy="none", cull_limit=0)
                self._index = _Guarded(index, where)
        return self._index

    def close(self) -> None:
        if self._index is not None:
            with contextlib.suppress(ShotbuildError, OSError):
                self.commit()  # losing what is staged is safe; keeping it is better
            self._index.close()
            self._index = None
        self._close_logs()

    # writes staged for the next commit
    def stage(self, write: Callable[[], object], names: Collection[str]) -> None:
        """Run `write` (index writes of the entries `names`) in the next transaction
        of `writing`, or at the next `commit`."""
        self._staged.append(write)
        self._staged_names.update(names)

    @property
    def staged(self) -> bool:
        return bool(self._staged or self._untrack)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One transaction for the block's index writes and those staged before it
        (one commit). When it fails, nothing of it is written and the staged writes
        stay staged."""
        staged = list(self._staged)
        try:
            with self.index.transact():
                for write in staged:
                    write()
                yield
        except BaseException:
            self._requests.clear()  # what the failed transaction wrote is not there
            raise
        del self._staged[: len(staged)]
        if not self._staged:
            self._staged_names.clear()
        self._untrack_committed()

    def commit(self) -> None:
        """Write what is staged now (at the end of a build, before its lock is written)."""
        if self.staged:
            with self.writing():
                pass

    def untrack_after_commit(self, spec_path: Path, key: str) -> None:
        """Take a job off the spec's list once the next commit (its done record) is made."""
        self._untrack.setdefault(spec_path, []).append(key)

    def _untrack_committed(self) -> None:
        untrack, self._untrack = self._untrack, {}
        for spec_path, keys in untrack.items():
            self.untrack_jobs(spec_path, keys)

    def read(self, name: str) -> Any:
        """The index entry `name` as stored, written first when it is staged."""
        if name in self._staged_names:
            self.commit()
        return self.index.get(name)

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # jobs, results, requests
    def job(self, key: str) -> JobRecord | None:
        raw = self.read(f"job:{key}")
        return JobRecord(**raw) if raw is not None else None

    def stored_job(self, key: str) -> JobRecord | None:
        """The job record of `key` as the index holds it, what is staged not committed
        first: a read inside the transaction that writes the staged records."""
        raw = self.index.get(f"job:{key}")
        return JobRecord(**raw) if raw is not None else None

    def put_job(self, job: JobRecord) -> None:
        self.index.set(f"job:{job.key}", job.to_json())

    def result(self, key: str) -> LockEntry | None:
        """The finished render of `key`; an entry that is not a valid one (a lock
        poisoned it before the lock was read strictly) is dropped, not used."""
        raw = self.read(f"result:{key}")
        if raw is None:
            return None
        try:
            return checked_entry(raw)
        except (untrusted.BadValue, TypeError, KeyError, ValueError):
            self.index.delete(f"result:{key}")
            return None

    def put_result(self, key: str, entry: LockEntry) -> None:
        self.index.set(f"result:{key}", entry.to_json())

    def request(self, key: str) -> dict[str, Any] | None:
        raw = self.read(f"request:{key}")
        return dict(raw) if raw is not None else None

    def put_request(self, key: str, request: dict[str, Any]) -> None:
        self.index.set(f"request:{key}", request)
        self._requests[key] = request

    def has_request(self, key: str, request: dict[str, Any]) -> bool:
        """Whether `request` is stored for `key`; no read when this cache wrote it."""
        return self._requests.get(key) == request or self.request(key) == request

    # jobs in flight per spec
    def in_flight(self, spec_path: Path) -> dict[str, str]:
        """Keys of the spec's jobs not yet finished -> the name of their shot."""
        return dict(self._jobs_in_flight(spec_path))

    def _jobs_in_flight(self, spec_path: Path) -> dict[str, str]:
        """The spec's list as this cache has it (not a copy: changed only through
        `_note_in_flight`, which keeps it)."""
        where = self._in_flight_path(spec_path)
        known = self._flying.get(where)
        if known is None:
            known = _replay(_read_in_flight(where), where.with_suffix(".log"))
        return known

    def track_job(self, spec_path: Path, key: str, shot: str, *, live: bool) -> None:
        """List a job of the spec as in flight (`live`), or take it off the list."""
        if not live:
            self.untrack_jobs(spec_path, (key,))
            return
        if self._jobs_in_flight(spec_path).get(key) != shot:
            self._note_in_flight(spec_path, [["+", key, shot]])

    def untrack_jobs(self, spec_path: Path, keys: Collection[str]) -> None:
        jobs = self._jobs_in_flight(spec_path)
        gone = [k for k in keys if k in jobs]
        if gone:
            self._note_in_flight(spec_path, [["-", k] for k in gone])

    def _note_in_flight(self, spec_path: Path, ops: list[list[str]]) -> None:
        """Append changes to the list's log, a line each: one write() to a file opened
        for appending, no temporary file, rename or fsync per job (a build rewrote the
        whole list twice per shot). A line written is there for the next build even if
        this one is killed the moment after; `flush_in_flight` folds the log into the
        list. The list with the changes is kept in memory from here on (changed only
        once the line is written: a failed write changes nothing)."""
        where = self._in_flight_path(spec_path)
        jobs = dict(self._jobs_in_flight(spec_path))
        for op in ops:
            if op[0] == "+":
                jobs[op[1]] = op[2]
            else:
                jobs.pop(op[1], None)
        data = "".join(json.dumps(op) + "\n" for op in ops).encode()
        with disk_error(where):
            os.write(self._log(where), data)
        self._flying[where] = jobs

    def _log(self, where: Path) -> int:
        """The list's log, opened for appending once (closed when the log is folded)."""
        fd = self._logs.get(where)
        if fd is None:
            log = self._folder(where.parent) / where.with_suffix(".log").name
            fd = self._logs[where] = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return fd

    def _close_logs(self) -> None:
        logs, self._logs = self._logs, {}
        for fd in logs.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    def flush_in_flight(self) -> None:
        """Fold the logs of the lists this cache changed into the lists (at the end of
        a build); a fold killed halfway leaves a log whose replay gives the same list."""
        from shotbuild.fs import atomic_write_text

        self._close_logs()
        for where, jobs in self._flying.items():
            if jobs:
                atomic_write_text(where, json.dumps(jobs, indent=1, sort_keys=True) + "\n")
            else:
                with contextlib.suppress(FileNotFoundError):
                    where.unlink()
            with contextlib.suppress(FileNotFoundError):
                where.with_suffix(".log").unlink()
        self._flying.clear()  # from here on, read the files again

    def _in_flight_path(self, spec_path: Path) -> Path:
        path = self._flight_paths.get(spec_path)
        if path is None:
            path = self.directory / "inflight" / f"{_digest(spec_path)}.json"
            self._flight_paths[spec_path] = path
        return path

    # local files and uploads
    def stat_load(self, path: str) -> tuple[int, int, int, str] | None:
        raw = self.index.get(f"stat:{path}")
        return (raw[0], raw[1], raw[2], raw[3]) if raw is not None else None

    def stat_save(self, path: str, value: tuple[int, int, int, str]) -> None:
        self.index.set(f"stat:{path}", list(value))

    def asset_id(self, origin: str, sha256: str) -> str | None:
        raw = self.index.get(f"asset:{origin}:{sha256}")
        return str(raw) if raw is not None else None

    def put_asset_id(self, origin: str, sha256: str, asset_id: str) -> None:
        self.index.set(f"asset:{origin}:{sha256}", asset_id)

    def remember_spec(self, spec_path: Path, build_dir: Path) -> None:
        self.index.set(f"spec:{spec_path}", {"build_dir": str(build_dir), "at": time.time()})

    def known_specs(self) -> dict[Path, Path]:
        """Specs built with this cache -> their build folder (for `gc`)."""
        out: dict[Path, Path] = {}
        for name in self.keys("spec:"):
            raw = self.index.get(f"spec:{name}")
            if isinstance(raw, dict):
                out[Path(name)] = Path(raw["build_dir"])
        return out

    def keys(self, prefix: str) -> list[str]:
        return [k[len(prefix) :] for k in self.index.iterkeys() if k.startswith(prefix)]

    def delete(self, name: str) -> None:
        self.index.delete(name)

    # blobs
    def blob_path(self, sha256: str) -> Path:
        """Where the blob of `sha256` is: only ever a 64-hex name inside the cache."""
        sha = untrusted.sha256(sha256)
        return self.directory / "blobs" / sha[:2] / sha

    def has_blob(self, sha256: str, size: int | None = None) -> bool:
        try:
            st = self.blob_path(sha256).stat()
        except OSError:
            return False
        return size is None or st.st_size == size

    def temp_file(self, suffix: str = ".tmp") -> Path:
        """A fresh path in the cache's own temporary folder (same filesystem as blobs)."""
        import tempfile

        folder = self.directory / "tmp"
        try:
            fd, name = tempfile.mkstemp(dir=self._folder(folder), suffix=suffix)
        except FileNotFoundError:  # its folder was removed meanwhile
            self._folders.discard(folder)
            fd, name = tempfile.mkstemp(dir=self._folder(folder), suffix=suffix)
        os.close(fd)
        return Path(name)

    def adopt_blob(self, src: Path, sha256: str) -> Path:
        """Move a verified file into the blob store (atomic; idempotent)."""
        dest = self.blob_path(sha256)
        try:
            os.replace(src, self._folder(dest.parent) / dest.name)
        except FileNotFoundError:  # its folder was removed meanwhile (gc, a person)
            self._folders.discard(dest.parent)
            os.replace(src, self._folder(dest.parent) / dest.name)
        return dest

    def _folder(self, folder: Path) -> Path:
        """`folder`, made if this cache has not seen it yet (one mkdir per folder,
        not one per file: a build moves a file into blobs/ per shot)."""
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        return folder

    def put_blob_bytes(self, data: bytes) -> Path:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has_blob(sha, len(data)):
            tmp = self.temp_file()
            try:
                with disk_error(tmp):
                    tmp.write_bytes(data)
                self.adopt_blob(tmp, sha)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return self.blob_path(sha)

    def temp_files(self) -> list[Path]:
        folder = self.directory / "tmp"
        return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []

    def blobs(self) -> Iterator[Path]:
        root = self.directory / "blobs"
        if root.is_dir():
            yield from (p for p in root.glob("??/*") if p.is_file())

    # one build at a time per spec
    @contextlib.contextmanager
    def spec_lock(self, spec_path: Path, *, timeout: float = 5.0) -> Iterator[None]:
        """Hold the build lock of one spec; after `timeout` seconds of waiting,
        fail with a message naming the holder's pid."""
        folder = self.directory / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_digest(spec_path)}.lock"
        with path.open("a+") as f:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        f.seek(0)
                        holder = f.read().strip() or "?"
                        raise BuildLocked(
                            f"another shotbuild build is running on {spec_path} (pid {holder});"
                            " wait for it to finish, or stop it and run the build again"
                        ) from None
                    time.sleep(0.05)
            try:
                f.seek(0)
                f.truncate()
                f.write(str(os.getpid()))
                f.flush()
                yield
            finally:
                with contextlib.suppress(OSError):
                    f.truncate(0)
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def checked_entry(raw: Any) -> LockEntry:
    """A LockEntry from the cache index, field by field: what could be a path or a
    number is checked strictly (a remote result is checked more, in remote.py)."""
    doc = untrusted.obj(raw, "a result")
    return LockEntry(
        key=untrusted.text(doc.get("key"), "key", limit=128),  # callers compare it
        video_id=untrusted.token(doc.get("video_id")),
        sha256=untrusted.sha256(doc.get("sha256")),
        size=untrusted.count(doc.get("size"), "size"),
        duration=untrusted.seconds(doc.get("duration")),
        origin=untrusted.text(doc.get("origin"), "origin", limit=400),
        built_at=untrusted.text(doc.get("built_at"), "built_at", limit=40),
    )


class CacheError(ShotbuildError):
    """The cache's index cannot be read or written (a full disk, a damaged file)."""


@contextlib.contextmanager
def _index_errors(where: Path) -> Iterator[None]:
    import sqlite3

    try:
        with disk_error(where):
            yield
    except sqlite3.Error as e:
        full = "full" in str(e).lower()
        raise (DiskFull if full else CacheError)(
            f"{where}: the cache index failed ({untrusted.one_line(str(e), 120)}); "
            + ("free some disk space and run again" if full else "remove that folder to reset it")
        ) from None


# diskcache's own row of a small pickled value (Disk.store's MODE_PICKLE, no file),
# written and read in one statement each (see _Guarded.get and set)
_MODE_RAW, _MODE_PICKLE = 1, 4
_GET = (
    "SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = 1"
    " AND (expire_time IS NULL OR expire_time > ?)"
)
_UPSERT = (
    "INSERT INTO Cache(key, raw, store_time, expire_time, access_time, access_count,"
    " tag, size, mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, NULL, 0, 4, NULL, ?)"
    " ON CONFLICT(key, raw) DO UPDATE SET store_time = excluded.store_time,"
    " expire_time = NULL, access_time = excluded.access_time, access_count = 0,"
    " tag = NULL, size = 0, mode = 4, filename = NULL, value = excluded.value"
    " WHERE Cache.filename IS NULL"
)


def _plain(index: Any) -> bool:
    """Whether `index` keeps its rows as diskcache does by default, with nothing done
    on a get (no statistics, no eviction) nor a set (no culling): its rows may then be
    read and written by `_GET` and `_UPSERT` exactly as its own get and set do."""
    import diskcache

    return (
        type(index.disk) is diskcache.Disk
        and not index.statistics
        and index.eviction_policy == "none"
        and index.cull_limit == 0
    )


class _Guarded:
    """The diskcache index with its SQLite and OS errors turned into one-line
    errors naming the file (a full disk is not a crash). Its `get` and `set` of a
    string name read and write diskcache's own row in one SQL statement: the same
    row diskcache's get and set read and write (any version of shotbuild reads the
    other's), at about half their cost (a build makes about ten a shot; diskcache's
    set is a SELECT, then an INSERT or UPDATE, and its Python around them)."""

    def __init__(self, index: Any, where: Path) -> None:
        import pickle  # here: a no-op build never opens the index

        self._index, self._where = index, where
        self._dumps, self._loads = pickle.dumps, pickle.loads
        self._fast = _plain(index)
        self._protocol: int = index.disk.pickle_protocol
        self._small: int = index.disk.min_file_size  # a pickle this long goes to a file
        # diskcache's own, for the values kept otherwise (not under "get"/"set" in
        # __dict__: there they would hide the methods below)
        self._get, self._set = self._guard(index.get), self._guard(index.set)

    def get(self, name: str, default: Any = None) -> Any:
        """The value stored as `name`, or `default`."""
        if self._fast and type(name) is str:
            try:
                rows = self._index._con.execute(_GET, (name, time.time())).fetchall()
            except Exception:
                with _index_errors(self._where):
                    raise
                raise
            if not rows:
                return default
            ((mode, filename, value),) = rows
            if filename is None and mode == _MODE_PICKLE:
                return self._loads(value)
            if filename is None and mode == _MODE_RAW:
                return bytes(value) if type(value) is memoryview else value
        return self._get(name, default)  # a value diskcache keeps otherwise

    def set(self, name: str, value: Any) -> bool:
        """Store `value` (a dict or list: as a pickle in the row) as `name`."""
        if self._fast and type(name) is str and type(value) in (dict, list):
            data = self._dumps(value, protocol=self._protocol)
            if len(data) < self._small:
                now = time.time()
                try:
                    row = (name, now, now, memoryview(data))  # sqlite3.Binary
                    done = self._index._con.execute(_UPSERT, row).rowcount
                except Exception:
                    with _index_errors(self._where):
                        raise
                    raise
                if done == 1:
                    return True  # (else the row kept its value in a file: diskcache's set)
        result: bool = self._set(name, value)
        return result

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._index, name)
        if not callable(attr):
            return attr
        call = self._guard(attr)
        # kept: the next use of `name` finds it without __getattr__ (a build calls
        # transact a few times a shot)
        self.__dict__[name] = call
        return call

    def _guard(self, attr: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kw: Any) -> Any:
            try:  # no context manager entered per call: an index call is a hot path
                return attr(*args, **kw)
            except Exception:
                with _index_errors(self._where):
                    raise
                raise  # (_index_errors raises it, or its own one-line error)

        return call


MAX_IN_FLIGHT_LOG = 64 << 20  # bytes of a log read (the cache is local: a bound, not a check)


def _read_in_flight(where: Path) -> dict[str, str]:
    try:
        raw = json.loads(where.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _replay(jobs: dict[str, str], log: Path) -> dict[str, str]:
    """The list with its log's changes applied (a torn or damaged line is skipped)."""
    try:
        with log.open("rb") as f:
            data = f.read(MAX_IN_FLIGHT_LOG)
    except OSError:
        return jobs
    for line in data.splitlines():
        try:
            op = json.loads(line)
        except ValueError:
            continue
        if isinstance(op, list) and len(op) == 3 and op[0] == "+":
            jobs[str(op[1])] = str(op[2])
        elif isinstance(op, list) and len(op) == 2 and op[0] == "-":
            jobs.pop(str(op[1]), None)
    return jobs


def _digest(spec_path: Path) -> str:
    return paths.spec_digest(str(spec_path))


def copy_atomic(src: Path, dest: Path) -> None:
    """Copy src to dest through a temporary file beside dest and os.replace."""
    import shutil

    from shotbuild.fs import atomic_writer

    with src.open("rb") as fin, atomic_writer(dest) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
