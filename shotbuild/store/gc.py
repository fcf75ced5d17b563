"""Garbage collection of the cache: keep what a known spec's lock or build
folder refers to, and every job not finished; drop the rest."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from shotbuild.store.cache import JOB_DONE, JOB_FAILED, Cache
from shotbuild.store.lock import LockError, read_lock
from shotbuild.store.outputs import Manifest


@dataclass(frozen=True)
class GcReport:
    specs: int
    results: int  # result records dropped
    blobs: int  # blob files dropped
    bytes: int  # their size
    kept_blobs: int


def collect(cache: Cache, *, dry_run: bool = False) -> GcReport:
    keys: set[str] = set()
    shas: set[str] = set()
    specs = 0
    for spec_path, build_dir in cache.known_specs().items():
        if not spec_path.exists():
            if not dry_run:
                cache.delete(f"spec:{spec_path}")
            continue
        specs += 1
        try:
            for entry in read_lock(spec_path.with_suffix(".lock")).values():
                keys.add(entry.key)
                shas.add(entry.sha256)
        except LockError:
            pass  # a damaged lock keeps nothing alive, but gc still runs
        for owned in Manifest(build_dir).entries.values():
            keys.add(owned.key)
            shas.add(owned.sha256)
    for key in cache.keys("job:"):
        job = cache.job(key)
        if job is not None and job.state not in (JOB_DONE, JOB_FAILED):
            keys.add(key)
    dropped = 0
    for key in cache.keys("result:"):
        if key in keys:
            continue
        dropped += 1
        if not dry_run:
            for prefix in ("result:", "request:", "job:"):
                cache.delete(f"{prefix}{key}")
    freed = blobs = kept = 0
    for blob in list(cache.blobs()):
        if blob.name in shas:
            kept += 1
            continue
        blobs += 1
        freed += blob.stat().st_size
        if not dry_run:
            blob.unlink()
    stale = time.time() - 3600  # a build's temporary files are younger than that
    for tmp in cache.temp_files():
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < stale:
                freed += tmp.stat().st_size
                if not dry_run:
                    tmp.unlink()
    return GcReport(specs, dropped, blobs, freed, kept)
