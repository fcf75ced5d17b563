"""The model kept current: watchfiles watches the spec, the lock, the build
folder and the reference files; each change recomputes the model (the page
polls it once a second, so it follows within two seconds). With `watch`, shots
whose preview no longer matches the spec get their preview rendered again in
the background: always with the offline preview backend, never a paid render.

A pick from the page goes through here: it holds the writing lock while the
lock and build/<shot>.mp4 change, then queues the cuts with the shot (cuts.py)
and answers; the cuts' states are shown on the model until they are done. A
preview render holds the spec's build lock, which a pick needs: the previews are
rendered one shot at a time, and a pick waits for the shot being rendered (its
button says "picking..." meanwhile), then goes before the next."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from shotbuild import logs
from shotbuild.errors import ShotbuildError
from shotbuild.review.cuts import FAILED, Cuts
from shotbuild.review.model import Project, ReviewModel, Take, pick, read_project, with_assembly
from shotbuild.spec.model import Spec

log = logs.logger(__name__)  # where the command line said
DEBOUNCE_MS = 150
PICK_WAIT = 60.0  # seconds a pick waits for the preview render of one shot to let go


class Turns:
    """This page's preview renders and picks take turns at the spec's build lock: a
    render waits while a pick is waiting; a pick waits only for the shot being
    rendered (the renders go one shot at a time)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rendering = False
        self._picks = 0

    @contextlib.contextmanager
    def render(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._picks == 0)
            self._rendering = True
        try:
            yield
        finally:
            with self._cond:
                self._rendering = False
                self._cond.notify_all()

    @contextlib.contextmanager
    def pick(self, wait: float = PICK_WAIT) -> Iterator[None]:
        with self._cond:
            self._picks += 1
            free = self._cond.wait_for(lambda: not self._rendering, wait)
        try:
            if not free:
                raise ShotbuildError(
                    f"a preview render still holds the spec after {wait:g} s; pick again soon"
                )
            yield
        finally:
            with self._cond:
                self._picks -= 1
                self._cond.notify_all()


class Live:
    def __init__(self, project: Project) -> None:
        self.project = project.resolved()  # the settings are read once, here
        self._lock = threading.Lock()
        self._spec: Spec | None = None
        self._model: ReviewModel | None = None
        self._doc: dict[str, Any] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rendered: set[str] = set()  # model digests a preview render was started for
        self.writing = threading.Lock()  # a pick from the page, or a cut put in place
        self.turns = Turns()  # the spec's build lock: a pick, or a preview render
        self.cuts = Cuts(self.project, self.writing, self._cuts_changed)
        self.refresh()

    def current(self) -> dict[str, Any]:
        with self._lock:
            return self._doc

    def spec(self) -> Spec:
        """The spec as last read successfully (what media and picks are checked against)."""
        with self._lock:
            spec = self._spec
        if spec is None:
            raise ShotbuildError(f"{self.project.spec_path.name} cannot be read right now")
        return spec

    def refresh(self) -> ReviewModel:
        spec, model = read_project(self.project)
        with self._lock:
            if spec is not None:
                self._spec = spec
            self._model = model
            self._doc = with_assembly(model, self.cuts.states()).to_json()
        return model

    def changed(self) -> None:
        """Something changed on disk through this server (a pick): read again soon."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def pick(self, name: str, take: int) -> Take:
        """Pick from the page: the lock and build/<shot>.mp4 now, the cuts with the
        shot queued for the background (again after a failure, on a pick of the same take)."""
        from shotbuild.sequences.plan import containing

        spec = self.spec()
        with self.turns.pick(), self.writing:
            before = _picked(spec, name)
            chosen = pick(
                spec, name, take, self.project.cache_dir, settings=self.project.settings, cuts=False
            )
        cuts = containing(spec, (name,))
        failed = [c for c in cuts if self.cuts.states().get(c, ("", ""))[0] == FAILED]
        self.cuts.want(cuts if before != chosen.number else failed)
        self.changed()
        return chosen

    def _cuts_changed(self) -> None:
        """A cut was queued, started, done or failed: show it now, read the files soon."""
        with self._lock:
            if self._model is not None:
                self._doc = with_assembly(self._model, self.cuts.states()).to_json()
        self.changed()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(self._watch(stop)), asyncio.create_task(self._follow())]
        try:
            yield
        finally:
            stop.set()  # the watcher's thread sees it within one step (50 ms)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(self.cuts.stop)  # a cut being put in place finishes
            self._loop = None

    async def _watch(self, stop: asyncio.Event) -> None:
        import watchfiles

        roots, wanted = self._targets()
        async for _ in watchfiles.awatch(
            *roots,
            watch_filter=lambda _c, p: _wanted(Path(p), wanted),
            debounce=DEBOUNCE_MS,
            stop_event=stop,
        ):
            self._wake.set()

    async def _follow(self) -> None:
        await self._rerender(self.current())
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                model = await asyncio.to_thread(self.refresh)
                await self._rerender(model.to_json())
            except Exception:  # a bug must not stop the page from following the files
                log.exception("shotbuild review: reading the project again failed")

    def _targets(self) -> tuple[list[Path], list[Path]]:
        spec = self.project.spec_path
        wanted = [spec, spec.with_suffix(".lock")]
        if self._spec is not None:
            wanted.append(self._spec.build_dir)
            wanted += [
                self._spec.root / r.path for s in self._spec.shots for r in s.references if r.path
            ]
        roots = {_existing(p.parent) for p in wanted}
        return sorted(roots), wanted

    async def _rerender(self, doc: dict[str, Any]) -> None:
        if not self.project.watch or doc.get("error") or doc["digest"] in self._rendered:
            return
        stale = tuple(s["name"] for s in doc["shots"] if not s["preview_current"])
        self._rendered.add(doc["digest"])
        if stale:
            await asyncio.to_thread(self.render_previews, stale)
            self._wake.set()

    def render_previews(self, names: tuple[str, ...]) -> None:
        """Render the previews of `names`, one shot at a time (a pick goes between)."""
        for name in names:
            with self.turns.render():
                _render_previews(self.project.spec_path, (name,), self.project.cache_dir)


def _picked(spec: Spec, name: str) -> int | None:
    from shotbuild.store.lock import read_lock_file

    shot = read_lock_file(spec.lock_path).shots.get(name)
    return shot.pick if shot is not None else None


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _wanted(path: Path, wanted: list[Path]) -> bool:
    return any(path == w or w in path.parents for w in wanted)


def _render_previews(spec_path: Path, names: tuple[str, ...], cache_dir: Path | None) -> None:
    """Render the previews of `names` with the preview backend (offline, unpaid)."""
    from shotbuild.backends.preview import PreviewBackend
    from shotbuild.build import BuildOptions, build
    from shotbuild.spec import load_spec
    from shotbuild.store.cache import Cache

    try:
        spec = load_spec(spec_path)
        with Cache(cache_dir) as cache:
            build(
                spec, PreviewBackend(cache), BuildOptions(only=names, keep_going=True), cache=cache
            )
    except ShotbuildError as e:
        log.warning("shotbuild review: preview render failed: %s", e)
