"""The shared remote cache: one person's render serves the whole team and every CI runner.

Any fsspec URL (``file://`` for a shared folder, ``s3://``, ``gs://``, ``az://``) holds::

    results/<key[:2]>/<key>.json      a LockEntry as JSON, by the shot's input key
    blobs/<sha[:2]>/<sha256>          the mp4 bytes, content-addressed
    tmp/<random>.<name>               uploads in progress (safe to delete when a day old)

Both kinds are immutable: a key's first result stays, a blob's name is its hash.

Atomicity. Every object is written under ``tmp/`` and then moved to its final name,
so no reader ever sees a partial object, whatever the store:
- local and network folders (``file://``): the move is a ``rename`` within one file
  system, atomic; two machines renaming the same blob or result replace a complete
  file with a complete file.
- object stores (S3, GCS, Azure): a PUT or server-side copy is all-or-nothing; the
  move is a copy then a delete of the temporary object, so the final name only ever
  appears complete. Concurrent writers of one name each leave a complete object.
Blobs are verified on the way in (the bytes uploaded must hash to the name) and on the
way out (``fetch_blob`` hashes while it writes and refuses a mismatch). Write the blob
before the result (``push`` does), so a result never names a blob that is not there.

Faults. A remote cache only saves money; it must never fail a build. So:
- a miss (no such result or blob) is ``None``/``False``;
- damaged content (a blob that does not match its hash, a result that is not a valid
  entry for its key) is a miss too, with a logging warning; in readwrite mode it is
  also removed, so the next upload repairs it (uploads skip names that exist);
- any fault of the store (network, credentials, permissions, the protocol library) is
  raised once as ``RemoteCacheError``; after it the cache is off for the rest of the
  run (reads miss, writes are skipped), so a dead endpoint costs one timeout, not one
  per shot. A write fault turns off writes only.
The engine therefore needs one clause: ``except RemoteCacheError as e: warn(e)``.
Configuration mistakes (bad mode, unknown protocol, missing extra) are other
``ShotbuildError``s raised by ``from_url`` (``shotbuild.settings`` picks the URL and
mode): they stop the run, since a
cache that is silently ignored means paying for renders again.

Trust. A remote cache is exactly as trusted as everyone who can write to it: a writer
can publish a result for a key naming any valid blob (shot A's key, shot B's video).
Blobs cannot be forged (their name is their hash, checked on the way out), results are
read with bounded size and checked field by field (a sha256 that is not 64 hex digits, a
path, an infinite duration: damaged, a miss), and ``pull`` takes the video_id the lock
already records for the key, so a result that disagrees with the lock is not used.

Methods block; async callers run them in a worker thread (``anyio.to_thread.run_sync``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Literal

from shotbuild import logs, untrusted
from shotbuild.errors import MissingExtra, ShotbuildError
from shotbuild.fs import atomic_writer
from shotbuild.store.lock import LockEntry

log = logs.logger(__name__)  # where the command line said

Mode = Literal["read", "readwrite"]
MODES: tuple[Mode, ...] = ("read", "readwrite")

_CHUNK = 1 << 20
MAX_RESULT_BYTES = 64 << 10  # a result is ~300 bytes
_HEX64 = re.compile(r"[0-9a-f]{64}")
# fsspec protocol -> the shotbuild extra that installs its package.
_EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "adl": "azure",
}


_SUPPORTED = frozenset({"file", "local", "memory", *_EXTRAS})


class RemoteCacheError(ShotbuildError):
    """The remote cache store failed; the build warns and goes on without it."""


class RemoteCacheConfigError(ShotbuildError):
    """The remote cache is configured wrongly; stop before paying for anything."""


class _Damaged(Exception):
    """Content read from the remote does not verify."""


class RemoteCache:
    """Results by key and blobs by sha256 under one fsspec URL."""

    def __init__(self, fs: Any, root: str, *, url: str, mode: Mode) -> None:
        self._fs = fs
        self._root = root.rstrip("/")
        self.url = url  # shown to people: credentials removed
        self.mode = mode
        self._read_fault: str | None = None  # set by a fault: reads and writes are off
        self._write_fault: str | None = None  # set by a write fault: writes are off
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        # Object stores have no folders (and s3fs's makedirs may create a bucket).
        self._needs_dirs = not any(p in _EXTRAS for p in protocols)

    @classmethod
    def from_url(
        cls,
        url: str,
        mode: str = "read",
        storage_options: Mapping[str, Any] | None = None,
    ) -> RemoteCache:
        """Open the cache at `url`; no I/O happens until the first call.

        `storage_options` go to the fsspec file system, e.g. for an S3-compatible store
        ``{"endpoint_url": "https://minio.example:9000"}`` (botocore also honours the
        ``AWS_ENDPOINT_URL`` environment variable)."""
        shown = _redact(url)
        if mode not in MODES:
            raise RemoteCacheConfigError(
                f"remote cache mode {mode!r} is not one of: read, readwrite"
            )
        try:
            import fsspec
        except ImportError:
            raise MissingExtra("the remote cache", "remote") from None
        protocol = fsspec.core.split_protocol(url)[0] or "file"
        if "::" in url or protocol not in _SUPPORTED:
            raise RemoteCacheConfigError(
                f"remote cache {untrusted.one_line(shown, 120)}: {protocol}:// is not supported;"
                " use a file://, s3://, gs:// or az:// URL"
            )
        try:
            fs, root = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
        except ImportError:
            extra = _EXTRAS.get(protocol, "remote")
            raise MissingExtra(f"a {protocol}:// remote cache", extra) from None
        except Exception as e:  # a broken URL: fsspec and its plugins raise many kinds
            raise RemoteCacheConfigError(
                f"remote cache {untrusted.one_line(shown, 120)}: {_one_line(e)};"
                " use a file://, s3://, gs:// or az:// URL"
            ) from None
        return cls(fs, root, url=shown, mode=mode)

    @property
    def readable(self) -> bool:
        """Whether reads are attempted (no fault of the store yet)."""
        return self._read_fault is None

    @property
    def writable(self) -> bool:
        """Whether writes are attempted (readwrite mode, and no write fault yet)."""
        return self.mode == "readwrite" and self._write_fault is None

    # -- results ------------------------------------------------------------------

    def get_result(self, key: str) -> LockEntry | None:
        """The entry recorded for `key`, or None (a miss, or a damaged entry: warned)."""
        path = self._result_path(key)
        with self._guard("read result", key) as ok:
            if ok:
                try:
                    data = self._fs.cat_file(path, start=0, end=MAX_RESULT_BYTES + 1)
                except FileNotFoundError:
                    return None
                return self._parse_result(key, data, path)
        return None

    def put_result(self, key: str, entry: LockEntry) -> bool:
        """Record `entry` for `key` unless a result is already there; True if written."""
        if entry.key != key:
            raise ValueError(f"entry is for key {entry.key}, not {key}")
        path = self._result_path(key)
        data = (json.dumps(entry.to_json(), indent=2, sort_keys=True) + "\n").encode()
        with self._guard("write result", key, write=True) as ok:
            if ok and not self._fs.exists(path):
                self._publish(path, lambda f: f.write(data))
                return True
        return False

    # -- blobs --------------------------------------------------------------------

    def has_blob(self, sha256: str) -> bool:
        path = self._blob_path(sha256)
        with self._guard("look up blob", sha256) as ok:
            if ok:
                return bool(self._fs.exists(path))
        return False

    def fetch_blob(self, sha256: str, dest: Path) -> bool:
        """Download the blob to `dest` (atomically, verified); False on a miss or a
        blob that does not match its hash (warned; `dest` is left as it was)."""
        path = self._blob_path(sha256)
        with self._guard("fetch blob", sha256) as ok:
            if not ok:
                return False
            try:
                with self._fs.open(path, "rb") as src, atomic_writer(dest) as out:
                    got = _copy_hashing(src, out)
                    if got != sha256:
                        raise _Damaged(f"its bytes hash to {got}")
            except FileNotFoundError:
                return False
            except _Damaged as e:
                self._discard(path, str(e))
                return False
            return True
        return False

    def put_blob(self, sha256: str, src: Path) -> bool:
        """Upload `src` as blob `sha256` unless it is there; True if written. A file
        whose bytes do not hash to `sha256` is refused (warned), never published."""
        path = self._blob_path(sha256)
        with self._guard("write blob", sha256, write=True) as ok:
            if ok and not self._fs.exists(path):

                def write(out: IO[bytes]) -> None:
                    with src.open("rb") as f:
                        got = _copy_hashing(f, out)
                    if got != sha256:
                        raise _Damaged(f"{src} hashes to {got}, not {sha256}")

                try:
                    self._publish(path, write)
                except _Damaged as e:
                    log.warning("remote cache %s: blob not uploaded: %s", self.url, e)
                    return False
                return True
        return False

    # -- both ---------------------------------------------------------------------

    def push(self, key: str, entry: LockEntry, src: Path) -> None:
        """Share a finished render: its blob first, then its result."""
        self.put_blob(entry.sha256, src)
        self.put_result(key, entry)

    def pull(self, key: str, dest: Path, video_id: str | None = None) -> LockEntry | None:
        """The result for `key` with its blob downloaded to `dest`, or None. With
        `video_id` (what the lock records for the key), a result naming another
        video is not used (warned): someone with write access published it."""
        entry = self.get_result(key)
        if entry is not None and video_id is not None and entry.video_id != video_id:
            log.warning(
                "remote cache %s: the result for %s names video %s, but shots.lock has %s;"
                " not used",
                self.url,
                key[:12],
                entry.video_id,
                video_id,
            )
            return None
        if entry is None or not self.fetch_blob(entry.sha256, dest):
            return None
        return entry

    # -- internals ----------------------------------------------------------------

    def _result_path(self, key: str) -> str:
        return f"{self._root}/results/{_hex64(key)[:2]}/{key}.json"

    def _blob_path(self, sha256: str) -> str:
        return f"{self._root}/blobs/{_hex64(sha256)[:2]}/{sha256}"

    def _parse_result(self, key: str, data: bytes, path: str) -> LockEntry | None:
        try:
            entry = checked_result(untrusted.load_json(data, max_bytes=MAX_RESULT_BYTES))
            if entry.key != key:
                raise ValueError(f"it records key {entry.key[:12]}")
        except (untrusted.BadValue, ValueError) as e:
            self._discard(path, f"damaged result ({untrusted.one_line(str(e), 120)})")
            return None
        return entry

    def _discard(self, path: str, why: str) -> None:
        """Damaged content is a miss. A writer also removes it, so that the next upload
        repairs it (uploads skip names that exist); a reader leaves it."""
        outcome = "not used"
        if self.writable:
            try:
                self._fs.rm(path)
                outcome = "removed, so the next upload replaces it"
            except Exception as e:
                outcome = f"not used (could not remove it: {_one_line(e)})"
        log.warning("remote cache %s: %s is damaged (%s); %s", self.url, path, why, outcome)

    def _publish(self, path: str, write: Callable[[IO[bytes]], object]) -> None:
        """Write via `write(file)` to a temporary object, then move it to `path`."""
        fs = self._fs
        tmp = f"{self._root}/tmp/{uuid.uuid4().hex}.{path.rsplit('/', 1)[1]}"
        if self._needs_dirs:
            fs.makedirs(tmp.rsplit("/", 1)[0], exist_ok=True)
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        try:
            with fs.open(tmp, "wb") as f:
                write(f)
            fs.mv(tmp, path)
        except BaseException as e:
            with suppress(Exception):
                fs.rm(tmp)
            # Some systems refuse to rename onto an existing name: another writer won.
            if not isinstance(e, Exception) or isinstance(e, _Damaged) or not fs.exists(path):
                raise

    @contextmanager
    def _guard(self, action: str, name: str, *, write: bool = False) -> Iterator[bool]:
        """Yield whether to try at all; turn any fault of the store into one
        RemoteCacheError, after which reads (or, for a write, writes) are off."""
        if write and self.mode != "readwrite":
            log.debug("remote cache %s is read-only: skip %s", self.url, action)
            yield False
            return
        fault = self._write_fault if write else self._read_fault
        if fault is not None:
            log.debug("remote cache %s is off (%s): skip %s", self.url, fault, action)
            yield False
            return
        try:
            yield True
        except Exception as e:
            detail = _one_line(e)
            self._write_fault = detail
            if not write:
                self._read_fault = detail
            off = "writing to it" if write else "it"
            raise RemoteCacheError(
                f"remote cache {self.url}: cannot {action} {name[:12]} ({detail});"
                f" going on without {off} for this run"
            ) from e


def checked_result(raw: object) -> LockEntry:
    """A remote result, every field checked; BadValue when any is not sane."""
    doc = untrusted.obj(raw, "a result")
    return LockEntry(
        key=untrusted.sha256(doc.get("key"), "key"),
        video_id=untrusted.token(doc.get("video_id")),
        sha256=untrusted.sha256(doc.get("sha256")),
        size=untrusted.count(doc.get("size"), "size"),
        duration=untrusted.seconds(doc.get("duration")),
        origin=untrusted.origin(doc.get("origin")),
        built_at=_label(doc.get("built_at"), "built_at"),  # shown, never parsed
    )


def _label(value: object, what: str) -> str:
    """A short printable text (no control characters) of at most 40 characters."""
    text = untrusted.text(value, what, limit=40)
    if not text.isprintable():
        raise untrusted.BadValue(f"{what} holds control characters")
    return text


def _copy_hashing(src: IO[bytes], out: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := src.read(_CHUNK):
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _hex64(name: str) -> str:
    if not _HEX64.fullmatch(name):
        raise ValueError(f"not a sha256 hex digest: {name!r}")
    return name


def _one_line(e: BaseException) -> str:
    text = untrusted.one_line(str(e), 300) or "no details"
    return f"{type(e).__name__}: {text}"


def _redact(url: str) -> str:
    """The URL without any user:password@ part."""
    return re.sub(r"^([a-zA-Z][\w+.-]*://)[^/@]*@", r"\1", url)
