"""The machine-local cache: a diskcache index plus content-addressed blobs.

Index entries, all keyed by strings:
  job:<key>      the job record of a paid render (intent, video_id, state, failure)
  result:<key>   the finished render of a key (a LockEntry)
  request:<key>  the normalised request of a key (so `plan` can say what changed)
  stat:<path>    (size, mtime_ns, inode, sha256) of a local reference file
  asset:<origin>:<sha256>   the asset_id an upload of those bytes got
  spec:<path>    a spec this cache has built (for `gc`)
Blobs are files under blobs/<sha[:2]>/<sha>, moved into place atomically.
The index is opened on first use, so a no-op build with no local references
never opens it."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotbuild import paths
from shotbuild.errors import ShotbuildError
from shotbuild.store.lock import LockEntry

JOB_INTENT = "intent"  # the create is about to be sent (or was, and its answer was lost)
JOB_SUBMITTED = "submitted"  # HeyGen answered with a video_id
JOB_FAILED = "failed"  # the render failed; the next build submits a new attempt
JOB_DONE = "done"


@dataclass(frozen=True)
class JobRecord:
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
        return dataclasses.replace(self, **changes)


class BuildLocked(ShotbuildError):
    """Another shotbuild build holds the spec."""


class Cache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else paths.cache_dir()
        self._index: Any = None

    @property
    def index(self) -> Any:
        if self._index is None:
            import diskcache

            self.directory.mkdir(parents=True, exist_ok=True)
            # never evict: job records are what make a killed build safe to re-run
            self._index = diskcache.Cache(str(self.directory / "index"), eviction_policy="none")
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # jobs, results, requests
    def job(self, key: str) -> JobRecord | None:
        raw = self.index.get(f"job:{key}")
        return JobRecord(**raw) if raw is not None else None

    def put_job(self, job: JobRecord) -> None:
        self.index.set(f"job:{job.key}", dataclasses.asdict(job))

    def result(self, key: str) -> LockEntry | None:
        raw = self.index.get(f"result:{key}")
        return LockEntry(**raw) if raw is not None else None

    def put_result(self, key: str, entry: LockEntry) -> None:
        self.index.set(f"result:{key}", entry.to_json())

    def request(self, key: str) -> dict[str, Any] | None:
        raw = self.index.get(f"request:{key}")
        return dict(raw) if raw is not None else None

    def put_request(self, key: str, request: dict[str, Any]) -> None:
        self.index.set(f"request:{key}", request)

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
        return self.directory / "blobs" / sha256[:2] / sha256

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
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, suffix=suffix)
        os.close(fd)
        return Path(name)

    def adopt_blob(self, src: Path, sha256: str) -> Path:
        """Move a verified file into the blob store (atomic; idempotent)."""
        dest = self.blob_path(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        return dest

    def put_blob_bytes(self, data: bytes) -> Path:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has_blob(sha, len(data)):
            tmp = self.temp_file()
            tmp.write_bytes(data)
            self.adopt_blob(tmp, sha)
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
        digest = hashlib.sha256(str(spec_path).encode()).hexdigest()[:24]
        path = folder / f"{digest}.lock"
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


def copy_atomic(src: Path, dest: Path) -> None:
    """Copy src to dest through a temporary file beside dest and os.replace."""
    import shutil

    from shotbuild.fs import atomic_writer

    with src.open("rb") as fin, atomic_writer(dest) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        os.fchmod(fout.fileno(), 0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
