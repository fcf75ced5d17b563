"""A small reviewed project, built for real: previews of every shot (the preview
backend) and three paid takes of one shot (a heygen build and two rerolls against
the local emulator, each render's card numbered so the takes' bytes differ):
take 1 picked and in build/, take 2 in the local cache only, take 3 on record only
(its blob removed, as on a machine that never downloaded it)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from shotbuild.backends.base import Backend
from shotbuild.plan import Plan
from shotbuild.preview import Card
from shotbuild.spec.model import Spec

SPEC = """\
version: 1
defaults:
  avatar_id: [look_founder]
  resolution: 720p
  duration: 4
shots:
  cold-open:
    prompt: >
      Close-up of the founder in a dark studio, lit by the glow of a laptop screen.
      She looks up into the lens and smiles.
    title: Launch teaser - cold open
  office-walk:
    prompt: The founder walks through a sunlit office, gesturing toward a whiteboard.
    avatar_id: [look_founder, look_cofounder]
    references:
      - type: file
        path: refs/lighting.jpg
      - type: url
        url: https://cdn.example.com/refs/dolly-walk.mp4
  sign-off:
    prompt: "The team waves goodbye <script>window.__pwned = 1</script> & <b>bold</b>"
    aspect_ratio: "9:16"
sequences:
  teaser:
    shots: [{shot: cold-open, in: 1, out: 2.5}, office-walk]
"""
SHOTS = ("cold-open", "office-walk", "sign-off")
SEQUENCE = "teaser"  # cold-open (its paid take) from 1 s to 2.5 s, then office-walk's preview
PAID = "cold-open"  # the shot with paid takes (rendered by the emulator)
TAKES = (1, 2, 3)  # PAID's takes: 1 picked, 2 in the cache, 3 on record only
LIGHTING = Path(__file__).parent.parent / "examples" / "references" / "refs" / "lighting.jpg"


@contextmanager
def built_project(root: Path) -> Iterator[tuple[Path, str]]:
    """Write the spec under `root`, build its previews and one paid take; yields the
    spec's path and the emulator's URL (the origin of the paid take). Runs with its
    own cache folder and no real key or home."""
    from shotbuild import api
    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread

    spec = root / "shots.yaml"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    shutil.copy(LIGHTING, root / "refs" / "lighting.jpg")
    spec.write_text(SPEC, encoding="utf-8")
    app = create_app(EmulatorConfig(latency=0.0, seed=7), video_factory=numbered_renders())
    with pytest.MonkeyPatch.context() as mp, serve_in_thread(app) as url:
        mp.setenv("SHOTBUILD_CACHE_DIR", str(root / ".cache"))
        mp.setenv("HOME", str(root / "no-home"))
        mp.setenv("HEYGEN_API_KEY", "test-key")
        mp.setenv("HEYGEN_BASE_URL", url)
        # in a thread: the engine runs its own event loop, and Playwright's sync API
        # keeps one running in this thread
        with ThreadPoolExecutor(1) as pool:
            pool.submit(api.build, spec, backend="preview").result()
            results = [pool.submit(api.build, spec, backend="heygen", only=[PAID]).result()]
            results += [pool.submit(api.reroll, spec, [PAID]).result() for _ in TAKES[1:]]
        assert not any(r.failed for r in results), [r.failed for r in results]
        forget_blob(root / ".cache", spec, TAKES[-1])
        yield spec, url


def numbered_renders() -> Callable[[Card], bytes]:
    """The emulator's renderer, each render of a card named "<title> #<n>" (n from
    1), so the takes of one shot are different videos."""
    from shotbuild.preview import video_bytes

    counts: dict[str, int] = {}

    def render(card: Card) -> bytes:
        counts[card.name] = counts.get(card.name, 0) + 1
        return video_bytes(dataclasses.replace(card, name=f"{card.name} #{counts[card.name]}"))

    return render


def forget_blob(cache_dir: Path, spec: Path, take: int) -> None:
    """Remove PAID's take `take` from the local cache (it stays in the lock)."""
    from shotbuild.store.cache import Cache
    from shotbuild.store.lock import read_lock_file

    entry = read_lock_file(spec.with_suffix(".lock")).shots[PAID].takes[take]
    Cache(cache_dir).blob_path(entry.sha256).unlink()


def planner_for(spec_path: Path, origin: str) -> Callable[[Spec, str], Plan]:
    """Plans as a build against `origin` with the build's cache would make them."""

    def plan(spec: Spec, backend: str) -> Plan:
        from shotbuild.backends.heygen import HeyGenBackend
        from shotbuild.backends.preview import PreviewBackend
        from shotbuild.money import default_table
        from shotbuild.plan import make_plan
        from shotbuild.store.cache import Cache

        with Cache(spec_path.parent / ".cache") as cache:
            chosen: Backend
            prices = None
            if backend == "heygen":
                chosen = HeyGenBackend(origin, None, cache=cache)
                prices = default_table()  # as shotbuild review uses, with no config
            else:
                chosen = PreviewBackend(cache)
            return make_plan(spec, chosen, cache, prices=prices)

    return plan


def copy_project(spec: Path, into: Path) -> Path:
    """A copy of the built project at `into`: the spec, lock and references copied,
    the build folder's files hard-linked (the manifest knows outputs by inode, so
    they stay up to date; shotbuild replaces outputs, never writes into them)."""
    build = spec.parent / "build"

    def place(source: str, target: str) -> None:
        if Path(source).is_relative_to(build):
            os.link(source, target)
        else:
            shutil.copy2(source, target)

    shutil.copytree(spec.parent, into, ignore=shutil.ignore_patterns(".cache"), copy_function=place)
    return into / spec.name


SOLO = "solo"  # a sequence of PAID alone, whole: its paid cut can be assembled (a remux)


def with_solo_cut(spec: Path, cache_dir: Path) -> Path:
    """Add sequence SOLO to the spec and assemble its paid cut from PAID's picked take
    (a build of PAID: nothing rendered, nothing fetched); the cut's path."""
    from shotbuild import api

    with spec.open("a", encoding="utf-8") as f:
        f.write(f"  {SOLO}:\n    shots: [{PAID}]\n")
    with pytest.MonkeyPatch.context() as mp, ThreadPoolExecutor(1) as pool:
        mp.setenv("SHOTBUILD_CACHE_DIR", str(cache_dir))
        build = pool.submit(api.build, spec, backend="heygen", only=[PAID], max_seconds=0)
        assert not build.result().failed
    cut = spec.parent / "build" / f"{SOLO}.mp4"
    assert cut.is_file()
    return cut


class SlowAssembler:
    """A fake slow assembler: the cuts' encoder (sequences.media.assemble) waits until
    `finish()`, then the real one runs. `started` is set when an encode begins,
    `done` when one has returned."""

    def __init__(self, mp: pytest.MonkeyPatch) -> None:
        import threading

        from shotbuild.sequences import media

        self.started = threading.Event()
        self.done = threading.Event()
        self._gate = threading.Event()
        self.calls = 0
        real = media.assemble

        def slow(segments: Any, size: Any, out: Path) -> str:
            self.calls += 1
            self.started.set()
            if not self._gate.wait(120):
                raise AssertionError("the slow assembler was never let finish")
            try:
                return str(real(segments, size, out))
            finally:
                self.done.set()

        mp.setattr(media, "assemble", slow)

    def finish(self) -> None:
        self._gate.set()
