"""`build --all-takes`: every take on record of each shot's current inputs as a file,
`<build_dir>/takes/<shot>/<n>.mp4`, beside the picked one in `<shot>.mp4`.

The paths are made here from the spec's shot names (checked again) and the lock's
take numbers (ints), never read from the lock. The bytes come from the local blob
cache, else the shared remote cache, else a download by the take's video_id
(verified against its sha256); each file is written atomically and listed in the
build folder's manifest, so `clean` removes it and a file a person put there is
never overwritten.

Like the output of a shot that left the spec, a take file goes stale when it is no
longer a take on record of its shot's current inputs (the inputs changed, the shot
left the spec, a merge replaced the take): every build of a paid backend removes
the stale files it wrote, with or without --all-takes; only --all-takes writes
them. So `build/takes/` only ever shows takes of the inputs the spec has now."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from shotbuild import untrusted
from shotbuild.backends.base import JobGone
from shotbuild.build.options import ShotFailed, Would
from shotbuild.errors import ShotbuildError
from shotbuild.store.lock import LockEntry, LockFile
from shotbuild.store.outputs import DamagedBlob, Manifest, OutputInTheWay
from shotbuild.takes import MAX_TAKE_NUMBER

if TYPE_CHECKING:  # the engine: a build with nothing to do never imports it
    from shotbuild.build.context import Context
    from shotbuild.build.jobs import RemoteJobs
    from shotbuild.build.record import Recorder

TAKES_DIR = "takes"


def take_rel(shot: str, number: int) -> str:
    """A take's file in the build folder: `takes/<shot>/<n>.mp4`, from a checked shot
    name and an int take number (so no value can make it another path)."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError(f"a take number is an int, not {number!r}")
    if not 1 <= number <= MAX_TAKE_NUMBER:
        raise ValueError(f"a take number is from 1 to {MAX_TAKE_NUMBER}, not {number}")
    return f"{TAKES_DIR}/{untrusted.shot_name(shot)}/{number}.mp4"


def is_take_rel(rel: str) -> bool:
    return rel.startswith(f"{TAKES_DIR}/")


class TakeFile(NamedTuple):
    """One take that has (or would have) a file in `takes/`."""

    shot: str
    number: int
    entry: LockEntry

    @property
    def rel(self) -> str:
        return take_rel(self.shot, self.number)


def wanted(lock: LockFile, keys: Mapping[str, Collection[str]]) -> list[TakeFile]:
    """Every take in `lock` of the shots in `keys` (shot -> the keys its current
    inputs' takes may be under) whose takes are of those inputs, in shot then take order."""
    files: list[TakeFile] = []
    for name, accepted in keys.items():
        shot = lock.get(name)
        if shot is not None and shot.key in accepted:
            files += [TakeFile(name, n, shot.takes[n]) for n in shot.numbers]
    return files


def stale(
    manifest: Manifest,
    files: Iterable[TakeFile],
    *,
    spec_path: Path,
    backend: str,
    scope: Collection[str] | None,
) -> list[str]:
    """The take files this spec's builds wrote (for `backend`) that are not one of
    `files` with the same bytes; `scope`: only those of these shots (None: all)."""
    want = {f.rel: f.entry.sha256 for f in files}
    return sorted(  # the few found, not every output of the build folder
        rel
        for rel, owned in manifest.entries.items()
        if is_take_rel(rel)
        and owned.backend == backend
        and owned.belongs_to(spec_path)
        and (scope is None or owned.shot in scope)
        and want.get(rel) != owned.sha256
    )


def missing(manifest: Manifest, files: Iterable[TakeFile]) -> list[TakeFile]:
    """The takes whose file is not in place with their bytes."""
    out = []
    for f in files:
        owned = manifest.get(f.rel)
        in_place = owned is not None and owned.sha256 == f.entry.sha256
        if not in_place or manifest.state(f.rel) != "ours":
            out.append(f)
    return out


class TakeFiles:
    """Brings `takes/` in line with the lock after a build's shots are done: the
    stale files it wrote removed, and with `write` (--all-takes) the missing written."""

    def __init__(
        self,
        ctx: Context,
        recorder: Recorder,
        jobs: RemoteJobs | None,
        keys: Mapping[str, Collection[str]],
        *,
        write: bool,
    ) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.manifest = recorder.manifest
        self.jobs = jobs
        self.keys = keys  # shot -> the keys of its current inputs, for the shots covered
        self.scope = set(ctx.options.only) or None
        self.writes = write

    def files(self) -> list[TakeFile]:
        """The takes on record now (this build's new takes included)."""
        return wanted(self.recorder.lock, self.keys)

    def remove_stale(self) -> None:
        target = self.recorder.target
        gone = stale(
            self.manifest,
            self.files(),
            spec_path=self.recorder.spec.path,
            backend=target.name,
            scope=self.scope,
        )
        for rel in gone:
            if self.manifest.remove(rel):  # only if its bytes are still the ones written
                self.ctx.result.takes_removed.append(rel)
                self.ctx.reporter.message(f"{rel}: removed (no longer a take on record)")
        tidy(self.manifest.build_dir, {Path(rel).parent.name for rel in gone})

    async def run(self) -> None:
        """Remove the stale files; with --all-takes write the missing ones."""
        self.remove_stale()
        if not self.writes:
            return
        try:
            await self.write(self.files())
        finally:
            if self.jobs is not None:
                await self.jobs.close()  # a download may have opened the client again

    async def write(self, files: Iterable[TakeFile]) -> None:
        """Write each take's file that is not in place yet; a take that cannot be
        written fails alone (named with its shot and number), the others go on."""
        for f in missing(self.manifest, files):
            try:
                source = await self._blob(f)
                self._place(f)
            except (ShotbuildError, OSError) as e:
                message = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) else str(e)
                self.ctx.result.failed.append((f"{f.shot} (take {f.number})", message))
                self.ctx.reporter.message(f"{f.rel}: not written: {message}")
                continue
            self.ctx.result.takes_written.append(f.rel)
            self.ctx.reporter.message(f"{f.rel}: written (from {source})")

    async def _blob(self, f: TakeFile) -> str:
        """The take's bytes in the local blob cache; where they came from."""
        entry, cache = f.entry, self.ctx.cache
        if cache.has_blob(entry.sha256, entry.size):
            return "the local cache"
        if await self.recorder.shared.blob(entry.sha256):
            return "the remote cache"
        if self.jobs is None:
            raise ShotFailed("its render is not in the cache and cannot be downloaded here")
        try:
            await self.jobs.fetch(
                f"{f.shot} (take {f.number})", entry.video_id, expect=entry.sha256
            )
        except JobGone as e:
            raise ShotFailed(
                f"HeyGen no longer has {entry.video_id} (404) and no cache holds it ({e})"
            ) from e
        await self.recorder.shared.push(entry)  # the next machine gets it from there
        return f"a download of {entry.video_id}"

    def _place(self, f: TakeFile) -> None:
        entry, spec = f.entry, self.recorder.spec
        try:
            self.manifest.place(f.rel, self.ctx.cache.blob_path(entry.sha256), entry.sha256)
        except (OutputInTheWay, DamagedBlob) as e:
            raise ShotFailed(str(e)) from None
        owned = {
            "shot": f.shot,
            "backend": self.recorder.target.name,
            "key": entry.key,
            "sha256": entry.sha256,
            "video_id": entry.video_id,
            "duration": entry.duration,
            "origin": entry.origin,
            "built_at": entry.built_at,
            "spec": str(spec.path),
        }
        self.manifest.record(f.rel, owned)


def remove_dead_temps(build_dir: Path, before: float) -> None:
    """The temporary files a killed write of a take file left in `takes/<shot>/`
    (its writer gone, written before `before`): `fs.remove_dead_temps`, in each
    folder of `takes/` (one listing when there is none)."""
    import os

    from shotbuild.fs import remove_dead_temps as remove

    try:
        entries = list(os.scandir(build_dir / TAKES_DIR))
    except OSError:
        return
    names = _take_names()
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):  # a link is not followed out of takes/
            remove(Path(entry.path), names, before)


@functools.cache
def _take_names() -> frozenset[str]:
    """The names of take files (`<n>.mp4`), whose temporary files are swept."""
    return frozenset(f"{n}.mp4" for n in range(1, MAX_TAKE_NUMBER + 1))


def tidy(build_dir: Path, shots: Iterable[str]) -> None:
    """Drop the emptied `takes/<shot>/` folders, then `takes/` if empty."""
    import contextlib

    folder = build_dir / TAKES_DIR
    for sub in (*(folder / name for name in sorted(shots)), folder):
        with contextlib.suppress(OSError):
            sub.rmdir()  # only when empty


def dry_run(
    manifest: Manifest, files: list[TakeFile], gone: list[str], *, write: bool
) -> list[Would]:
    """What a build would do in `takes/`, as lines of a dry run (by shot and take)."""
    said = [
        Would(Path(rel).parent.name, f"remove {rel} (no longer a take on record)", _number(rel))
        for rel in gone
    ]
    if write:
        said += [
            Would(f.shot, f"write {f.rel} (take {f.number})", f.number)
            for f in missing(manifest, files)
        ]
    return said


def _number(rel: str) -> int | None:
    """The take number in `takes/<shot>/<n>.mp4` (None for a name that is not one)."""
    stem = Path(rel).stem
    return int(stem) if stem.isdigit() and len(stem) <= 4 else None
