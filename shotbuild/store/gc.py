"""Garbage collection of the cache, which never forgets a paid render.

Kept always: the record of every paid render (`store/records.py`; a render the
cache knows only as `result:<key>` is adopted as a record first), the result and
request of every paid key (so going back to earlier inputs restores them by
video_id, no create), every job not finished, and the bytes every known spec's
lock (all takes) or build folder refers to.
Dropped: the bytes of other paid renders (they can be fetched again by their
video_id), previews' results and bytes (made again for free), stale temporary
files. `drop_paid_records=True` (`gc --drop-paid-records`) also forgets the
paid renders no lock or build folder refers to: the only way to lose one."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

from shotbuild.store.cache import JOB_DONE, JOB_FAILED, Cache
from shotbuild.store.lock import LockError, read_lock_file
from shotbuild.store.outputs import Manifest
from shotbuild.store.records import PaidRender, adoptable, all_paid, forget_paid, record_paid


@dataclass(frozen=True)
class GcReport:
    specs: int
    results: int  # result records dropped (previews, never a paid render's)
    blobs: int  # blob files dropped
    bytes: int  # their size
    kept_blobs: int
    paid: int = 0  # paid renders on record after gc (all kept unless forgotten)
    paid_refetchable: int = 0  # of those, renders whose bytes are not here (fetch by video_id)
    adopted: int = 0  # results recorded as paid renders by this gc
    forgotten: int = 0  # paid-render records dropped (--drop-paid-records only)


@dataclass
class _Live:
    """What the known specs refer to."""

    specs: int = 0
    keys: set[str] = field(default_factory=set)
    shas: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)  # take key -> shot name


def collect(cache: Cache, *, dry_run: bool = False, drop_paid_records: bool = False) -> GcReport:
    live = _live(cache, dry_run)
    adopted = _adopt_results(cache, live, dry_run)
    paid = [*all_paid(cache), *(adopted.values() if dry_run else ())]  # recorded already
    forgotten = 0
    if drop_paid_records:
        forgotten = sum(1 for r in paid if r.key not in live.keys)
        paid = [r for r in paid if r.key in live.keys]
        if not dry_run:
            forget_paid(cache, live.keys)
    results = _drop_results(cache, live.keys | {r.key for r in paid}, dry_run)
    blobs, freed, kept = _drop_blobs(cache, live.shas, dry_run)
    freed += _drop_stale_temps(cache, dry_run)
    refetch = sum(1 for r in paid if r.sha256 not in live.shas or not cache.has_blob(r.sha256))
    return GcReport(
        live.specs, results, blobs, freed, kept, len(paid), refetch, len(adopted), forgotten
    )


def _live(cache: Cache, dry_run: bool) -> _Live:
    live = _Live()
    for spec_path, build_dir in cache.known_specs().items():
        if not spec_path.exists():
            if not dry_run:
                cache.delete(f"spec:{spec_path}")
            continue
        live.specs += 1
        try:
            lock = read_lock_file(spec_path.with_suffix(".lock"))
        except LockError:
            lock = None  # a damaged lock keeps nothing alive, but gc still runs
        for name, shot in lock.shots.items() if lock is not None else ():
            for take in shot.takes.values():
                live.keys.add(take.key)
                live.shas.add(take.sha256)
                live.names[take.key] = name
        for owned in Manifest(build_dir).entries.values():
            live.keys.add(owned.key)
            live.shas.add(owned.sha256)
    for key in cache.keys("job:"):
        job = cache.job(key)
        if job is not None and job.state not in (JOB_DONE, JOB_FAILED):
            live.keys.add(key)
    return live


def _adopt_results(cache: Cache, live: _Live, dry_run: bool) -> dict[str, PaidRender]:
    """Record as paid renders the finished renders an older engine left only as
    `result:<key>`; the records made (or, on a dry run, that would be)."""
    adopted: dict[str, PaidRender] = {}
    for key in cache.keys("result:"):
        entry = cache.result(key)
        record = adoptable(cache, key, entry, live.names.get(key, "")) if entry else None
        if record is not None:
            adopted[key] = record
            if not dry_run:
                record_paid(cache, record)
    return adopted


def _drop_results(cache: Cache, keep: set[str], dry_run: bool) -> int:
    dropped = 0
    for key in cache.keys("result:"):
        if key in keep:
            continue
        dropped += 1
        if not dry_run:
            for prefix in ("result:", "request:", "job:"):
                cache.delete(f"{prefix}{key}")
    return dropped


def _drop_blobs(cache: Cache, shas: set[str], dry_run: bool) -> tuple[int, int, int]:
    """Drop the bytes nothing live refers to: (dropped, bytes freed, kept)."""
    dropped = freed = kept = 0
    for blob in list(cache.blobs()):
        if blob.name in shas:
            kept += 1
            continue
        dropped += 1
        freed += blob.stat().st_size
        if not dry_run:
            blob.unlink()
    return dropped, freed, kept


def _drop_stale_temps(cache: Cache, dry_run: bool) -> int:
    freed = 0
    stale = time.time() - 3600  # a build's temporary files are younger than that
    for tmp in cache.temp_files():
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < stale:
                freed += tmp.stat().st_size
                if not dry_run:
                    tmp.unlink()
    return freed
