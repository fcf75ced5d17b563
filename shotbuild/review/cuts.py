"""Cuts assembled again in the background after a pick from the page.

A pick answers as soon as shots.lock and build/<shot>.mp4 are updated; the cuts
(sequences) with the shot are queued here for one worker thread. The queue is a
set of sequence names: a newer pick of a queued cut's shot adds nothing, and the
cut is made from the picks as they are when its turn comes.

A cut is encoded outside the spec's build lock, so a pick is never refused while
one is encoded (a re-encode can take half a minute): the worker links (else
copies) the members' files into the cache's temporary folder, where no pick can
change them, and `sequences.encode_ahead` encodes from those. Then, holding the
page's writing lock (its picks hold it too) and the build lock (tried as a pick
tries it), `sequences.assemble_all` puts the cut in place with its exports and
record, the way a build does, if its members are still the ones encoded; if a
pick or a build changed one meanwhile, the cut is queued again. A stop (Ctrl-C)
waits for a cut being put in place, never for one being encoded: that one's
temporary files are removed and build/ never holds half a cut."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from shotbuild import logs
from shotbuild.errors import ShotbuildError

if TYPE_CHECKING:
    from shotbuild.review.model import Project
    from shotbuild.sequences import Made
    from shotbuild.spec.model import Spec
    from shotbuild.store.cache import Cache

log = logs.logger(__name__)  # where the command line said

QUEUED = "queued"
RUNNING = "running"
FAILED = "failed"
LOCK_WAIT = 60.0  # seconds a finished cut waits for another build to let go of the spec
LOCK_RETRY = 0.2
STOP_WAIT = 1.0  # seconds a stop waits for the worker (an encode is not waited for)
MAX_AGAIN = 5  # times a cut is encoded again because its members moved meanwhile

State = tuple[str, str]  # (QUEUED | RUNNING | FAILED, the error in one line)


class _Moved(Exception):
    """A member or the spec changed while the cut was encoded: encode it again."""


class Cuts:
    """The queue of cuts to assemble again, and its one worker."""

    def __init__(self, project: Project, writing: threading.Lock, told: Callable[[], None]):
        self.project = project
        self.writing = writing  # held by a pick from the page, and to put a cut in place
        self._told = told  # something to show changed (called from any thread)
        self._cond = threading.Condition()
        self._queue: dict[str, int] = {}  # name -> times encoded again (in order of arrival)
        self._states: dict[str, State] = {}
        self._temps: set[Path] = set()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def want(self, names: Iterable[str]) -> None:
        """Queue the cuts `names` (one entry each, however often they are asked for)."""
        with self._cond:
            if self._stopped:
                return
            for name in names:
                self._queue.setdefault(name, 0)
                self._states[name] = (QUEUED, "")
            if self._queue and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="shotbuild-review-cuts", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        self._told()

    def states(self) -> dict[str, State]:
        """Each cut queued, being assembled or that failed (a done cut is not listed)."""
        with self._cond:
            return dict(self._states)

    def stop(self) -> None:
        """Let a cut being put in place finish, start no other, and leave no temporary file."""
        with self.writing, self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(STOP_WAIT)
        with self._cond:
            for path in self._temps:
                path.unlink(missing_ok=True)

    def _run(self) -> None:
        while (job := self._next()) is not None:
            name, again = job
            state = self._one(name, again)
            with self._cond:
                if name not in self._queue:  # not asked for again meanwhile
                    if state is None:
                        self._states.pop(name, None)
                    else:
                        self._states[name] = state
            self._told()

    def _next(self) -> tuple[str, int] | None:
        with self._cond:
            while not self._queue and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return None
            name = next(iter(self._queue))
            again = self._queue.pop(name)
            self._states[name] = (RUNNING, "")
        self._told()
        return name, again

    def _one(self, name: str, again: int) -> State | None:
        """Assemble cut `name`: None when done (or nothing to do), else the failure."""
        try:
            self._assemble(name)
        except _Moved:
            if again >= MAX_AGAIN:
                return FAILED, "its members kept changing while it was assembled; pick again"
            with self._cond:
                self._queue.setdefault(name, again + 1)
            return RUNNING, ""
        except ShotbuildError as e:
            return FAILED, " ".join(str(e).split())
        except Exception as e:  # a bug must not stop the worker: say it on the page and in the log
            log.exception("shotbuild review: assembling %s failed", name)
            return FAILED, f"internal error ({type(e).__name__}); see the server's log"
        return None

    def _assemble(self, name: str) -> None:
        from shotbuild.review.model import plan_project
        from shotbuild.sequences import encode_ahead
        from shotbuild.sequences.plan import member_files
        from shotbuild.store.cache import Cache

        spec = self.project.load()
        seq = next((s for s in spec.sequences if s.name == name), None)
        if seq is None:
            return  # no longer in the spec
        plan = plan_project(self.project, spec, "heygen")
        files = member_files(plan)
        cache = Cache(self.project.cache_dir)  # its folders only: no index is opened
        try:
            shots = [shot for shot in dict.fromkeys(m.shot for m in seq.members) if shot in files]
            copies = {shot: self._still(cache, files[shot]) for shot in shots}
            made = encode_ahead(spec, plan.build_dir, copies, name, self._temp(cache))
            if made is not None:
                self._put(cache, made)
        finally:
            self._forget_temps()

    def _still(self, cache: Cache, path: Path) -> Path:
        """A file with `path`'s bytes that no pick can change: a hard link, else a copy."""
        copy = self._temp(cache)
        try:
            copy.unlink()
            try:
                os.link(path, copy)
            except OSError:
                shutil.copyfile(path, copy)
        except OSError as e:
            raise ShotbuildError(f"{path}: cannot be read ({e.strerror}); build again") from None
        return copy

    def _temp(self, cache: Cache) -> Path:
        path = cache.temp_file(".mp4")
        with self._cond:
            self._temps.add(path)
        return path

    def _forget_temps(self) -> None:
        with self._cond:
            for path in self._temps:
                path.unlink(missing_ok=True)
            self._temps.clear()

    def _put(self, cache: Cache, made: Made) -> None:
        """Put `made` in place under the writing and build locks, as a build would."""
        from shotbuild.store.cache import BuildLocked

        deadline = time.monotonic() + LOCK_WAIT
        while True:
            with self.writing:
                if self._stopped:
                    return
                spec = self.project.load()
                try:
                    with cache.spec_lock(spec.path, timeout=0.0):
                        return self._commit(spec, made)
                except BuildLocked:
                    if time.monotonic() >= deadline:
                        raise
            time.sleep(LOCK_RETRY)

    def _commit(self, spec: Spec, made: Made) -> None:
        from shotbuild.review.model import plan_project
        from shotbuild.sequences import FAILED as CUT_FAILED
        from shotbuild.sequences import SequenceStatus, assemble_all, plan_sequences
        from shotbuild.sequences.plan import member_files

        plan = plan_project(self.project, spec, "heygen")
        files = member_files(plan)
        cuts = plan_sequences(spec, plan.build_dir, files, only=(made.name,))
        if not cuts or cuts[0].status is SequenceStatus.UP_TO_DATE:
            return  # gone from the spec, or a build assembled it meanwhile
        seq = next(s for s in spec.sequences if s.name == made.name)
        if (cuts[0].inputs, seq.size) != (made.inputs, made.size):
            raise _Moved()
        (result,) = assemble_all(spec, plan.build_dir, files, only=(made.name,), made=(made,))
        if result.status == CUT_FAILED:
            raise ShotbuildError(result.detail)
