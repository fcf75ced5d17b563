"""Picking a take: which of a shot's takes ships as build/<shot>.mp4.

One function for `shotbuild pick`, the Python API and the review page: check the
shot and the take, set the pick in shots.lock, then put that take's bytes in
place through the engine, restricted to the shot and capped at 0 seconds of
video: the bytes come from the local cache, else the remote cache, else a
download by video_id, and never from a render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shotbuild.backends.base import Backend
from shotbuild.build import BuildOptions, BuildResult, build
from shotbuild.errors import ShotbuildError
from shotbuild.lockcheck import covers
from shotbuild.plan import ShotItem, make_plan
from shotbuild.progress import Reporter
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache
from shotbuild.store.lock import LockEntry, ShotTakes, read_lock_file, write_lock_file

if TYPE_CHECKING:
    from shotbuild.store.remote import RemoteCache

PICK_NAMES: Mapping[str, str] = {
    "only": "`shotbuild pick`",
    "force": "--force",
    "max_seconds": "`shotbuild pick` (it never renders)",
    "rerender_missing": "`shotbuild build --rerender-missing`",
}


class PickError(ShotbuildError):
    """The shot or the take is not one that can be picked."""


@dataclass(frozen=True)
class Picked:
    shot: str
    take: int
    entry: LockEntry  # the take now picked
    changed: bool  # the pick moved (False: it was picked already)
    result: BuildResult  # putting its bytes in place (restored, up to date or failed)

    @property
    def ok(self) -> bool:
        return not self.result.failed


def current_takes(spec: Spec, backend: Backend, cache: Cache, name: str) -> ShotTakes:
    """The shot's takes of its current inputs, from the lock; PickError saying what
    exists when the shot is not in the spec or has no takes of its current inputs."""
    names = [shot.name for shot in spec.shots]
    if name not in names:
        raise PickError(f"no shot named {name!r} in {spec.path.name} (shots: {', '.join(names)})")
    plan = make_plan(spec, backend, cache)
    item = next(i for i in plan.items if isinstance(i, ShotItem) and i.name == name)
    shot = plan.takes.get(name)
    if shot is None or not covers(plan.lock.get(name), item, backend.identity):
        raise PickError(
            f"shot {name!r} has no takes of its current inputs on record; run"
            f" `shotbuild build {spec.path.name}` first"
        )
    return shot


def pick(
    spec: Spec,
    backend: Backend,
    cache: Cache,
    name: str,
    take: int,
    *,
    remote: RemoteCache | None = None,
    reporter: Reporter | None = None,
    cuts: bool = True,
) -> Picked:
    """Make take `take` the shot's pick and its output; refuses while a build holds
    the spec (BuildLocked) and renders nothing. `cuts` False leaves the cuts that
    contain the shot as they are (the review page assembles them in the background)."""
    with cache.spec_lock(spec.path, timeout=0.0):
        shot = current_takes(spec, backend, cache, name)
        if take not in shot.takes:
            have = ", ".join(map(str, shot.numbers))
            raise PickError(f"shot {name!r} has no take {take} (takes on record: {have})")
        changed = shot.pick != take
        if changed:
            lock = read_lock_file(spec.lock_path)
            write_lock_file(spec.lock_path, lock.with_shot(name, shot.with_pick(take)))
    options = BuildOptions(only=(name,), max_seconds=0.0, lock_timeout=0.0)
    shots = spec if cuts else spec.replace(sequences=())  # build() assembles the spec's cuts
    result = build(
        shots, backend, options, cache=cache, reporter=reporter, remote=remote, names=PICK_NAMES
    )
    return Picked(name, take, shot.takes[take], changed, result)


@dataclass(frozen=True)
class TakeRow:
    """One take as `shotbuild takes` lists it."""

    shot: str
    take: int
    video_id: str
    when: str  # UTC, ISO 8601
    picked: bool
    current: bool  # a take of the shot's current inputs (else: of earlier inputs)
    prompt: str = ""  # earlier inputs: their prompt's first words

    def to_json(self) -> dict[str, object]:
        return {
            "shot": self.shot,
            "take": self.take,
            "video_id": self.video_id,
            "when": self.when,
            "picked": self.picked,
            "current": self.current,
            "prompt": self.prompt,
        }


def list_takes(
    spec: Spec,
    backend: Backend,
    cache: Cache,
    names: tuple[str, ...] = (),
    *,
    history: bool = False,
) -> list[TakeRow]:
    """Every take in the lock of the named shots (all by default), in spec order;
    `history` adds the paid renders on record of their earlier inputs."""
    known = [shot.name for shot in spec.shots]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise PickError(
            f"no shot named {', '.join(unknown)} in {spec.path.name} (shots: {', '.join(known)})"
        )
    plan = make_plan(spec, backend, cache)
    items = {i.name: i for i in plan.items if isinstance(i, ShotItem) and i.take == 1}
    keys = {name: item.key for name, item in items.items()}
    rows: list[TakeRow] = []
    for name in names or tuple(known):
        shot = plan.takes.get(name)
        if shot is not None:
            current = covers(plan.lock.get(name), items[name], backend.identity)
            rows += [
                TakeRow(name, n, e.video_id, e.built_at, n == shot.pick, current)
                for n, e in sorted(shot.takes.items())
            ]
        if history:
            rows += _earlier(cache, name, {keys[name], shot.key if shot else ""})
    return rows


def _earlier(cache: Cache, name: str, skip: set[str]) -> list[TakeRow]:
    from shotbuild.store.records import shot_history

    rows = []
    for inputs in shot_history(cache, name):
        if inputs.inputs_key in skip:
            continue
        words = " ".join(str(inputs.request.get("prompt", "")).split()[:6])
        for number, render in sorted(inputs.takes.items()):
            rows.append(
                TakeRow(name, number, render.video_id, render.created_at, False, False, words)
            )
    return rows
