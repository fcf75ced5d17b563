"""The lock check (`shotbuild lock --check`, the CI gate): does shots.lock hold an
entry for each shot's current key, and nothing for shots that left the spec?

The keys are the planner's own (`make_plan`), for the backend given: a check can
never disagree with what `plan` and `build` would decide. Offline: no API key,
no network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotbuild.backends.base import Backend
from shotbuild.heygen.origin import key_identity
from shotbuild.keys import accepted_keys
from shotbuild.plan import ShotItem, make_plan
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache
from shotbuild.store.lock import LockEntry, read_lock_file

FORMAT_VERSION = 1
NOT_LOCKED = "not in the lock"
CHANGED = "changed since it was built"
LEFT = "in the lock but not in the spec"


@dataclass(frozen=True)
class LockProblem:
    shot: str
    problem: str


@dataclass(frozen=True)
class LockCheck:
    """The outcome: `problems` empty when the lock matches the spec."""

    lock_path: Path
    shots: int
    problems: tuple[LockProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "ok": self.ok,
            "problems": [{"shot": p.shot, "problem": p.problem} for p in self.problems],
        }


def check_lock(spec: Spec, backend: Backend, cache: Cache) -> LockCheck:
    """Compare the lock with the keys the planner gives each shot for `backend`
    (a heygen backend: keys carry the API's origin)."""
    lock = read_lock_file(spec.lock_path).current()  # a pick of take 2 is as good
    plan = make_plan(spec, backend, cache)
    names = {shot.name for shot in spec.shots}
    items = [i for i in plan.items if isinstance(i, ShotItem) and i.take == 1 and i.name in names]
    problems = [
        LockProblem(item.name, mismatch(lock.get(item.name), backend.identity))
        for item in items
        if not covers(lock.get(item.name), item, backend.identity)
    ]
    problems += [LockProblem(name, LEFT) for name in sorted(lock) if name not in names]
    return LockCheck(spec.lock_path, len(items), tuple(problems))


def covers(entry: LockEntry | None, item: ShotItem, identity: str) -> bool:
    """The lock entry is this shot's render at `identity` (the planner's rule)."""
    if entry is None:
        return False
    if entry.key == item.key:
        return True
    return entry.key in accepted_keys(identity, item.request, item.shot.api_type, entry.origin)


def mismatch(entry: LockEntry | None, origin: str) -> str:
    """Why a shot's lock entry does not cover its current key."""
    if entry is None:
        return NOT_LOCKED
    if key_identity(entry.origin) != key_identity(origin):
        return f"rendered by {entry.origin}, checked for {origin} (see $HEYGEN_BASE_URL)"
    return CHANGED
