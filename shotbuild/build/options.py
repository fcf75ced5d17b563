"""What a build is asked to do (BuildOptions) and what it did (BuildResult)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

from shotbuild.buildflags import JOBS, TIMEOUT
from shotbuild.errors import ShotbuildError
from shotbuild.money import Money, PriceTable
from shotbuild.plan import Plan
from shotbuild.value import Value

# How messages name the options a caller can change: the Python API's keywords by
# default; the CLI passes its flags (shotbuild.commands.build.FLAGS).
PYTHON_NAMES: Mapping[str, str] = {
    "only": "`only`",
    "force": "`force`",
    "max_seconds": "`max_seconds`",
    "max_cost": "`max_cost`",
    "rerender_missing": "`rerender_missing=True`",
    "reroll": "`reroll`",
    "all_takes": "`all_takes`",
}


class ShotFailed(ShotbuildError):
    """One shot could not be built; the message says why and what happens next."""


class NotConfirmed(ShotbuildError):
    """The user answered no to "Render?": nothing was submitted."""


class Would(NamedTuple):
    """One line of a dry run: what a build would do for a shot, or one of its takes."""

    name: str  # the shot
    what: str  # "submit (4 s of video): ...", "restore: ...", "write takes/a/2.mp4 ..."
    take: int | None = None  # the take it is of (1: the shot's own); None: no take
    label: str = ""  # how a line names it ("a (take 2)", "a (earlier version)"); "": name

    @property
    def said(self) -> str:
        return self.label or self.name

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "take": self.take, "label": self.said, "would": self.what}


class BuildOptions(Value):
    """What a build is asked to do (the Python API's keywords; the CLI's options).
    A plain class with the frozen dataclass's __init__ (the same errors for a wrong
    keyword), equality, hash and repr; its attributes are Final (mypy refuses a change)."""

    FIELDS = (
        "jobs", "keep_going", "only", "force", "dry_run", "max_seconds", "timeout", "out",
        "lock_timeout", "rerender_missing", "reroll", "pick_rerolled", "max_cost", "prices",
        "all_takes",
    )  # fmt: skip
    __slots__ = FIELDS

    def __init__(
        self,
        jobs: int = JOBS,
        keep_going: bool = False,
        only: tuple[str, ...] = (),
        force: tuple[str, ...] = (),  # a new take of each, picked (reroll + pick)
        dry_run: bool = False,
        max_seconds: float | None = None,
        timeout: float = TIMEOUT,
        out: Path | None = None,
        lock_timeout: float = 5.0,
        rerender_missing: bool = False,  # a locked render gone from the API may be rendered again
        reroll: tuple[str, ...] = (),  # shots that get one more take of their current inputs
        pick_rerolled: bool = False,  # the new takes become the picks and the outputs
        max_cost: Money | None = None,  # refuse, before any create, a build that would spend more
        prices: PriceTable | None = None,  # the price table in force (None: the defaults)
        all_takes: bool = False,  # write build/takes/<shot>/<n>.mp4 for every take on record
    ) -> None:
        self.jobs: Final = jobs
        self.keep_going: Final = keep_going
        self.only: Final = only
        self.force: Final = force
        self.dry_run: Final = dry_run
        self.max_seconds: Final = max_seconds
        self.timeout: Final = timeout
        self.out: Final = out
        self.lock_timeout: Final = lock_timeout
        self.rerender_missing: Final = rerender_missing
        self.reroll: Final = reroll
        self.pick_rerolled: Final = pick_rerolled
        self.max_cost: Final = max_cost
        self.prices: Final = prices
        self.all_takes: Final = all_takes


class BuildResult(Value):
    """What a build did, shot by shot, and what it paid. (A plain class, as every value
    on the no-op build's path is: the dataclasses module alone costs it ~70M instructions.)"""

    FIELDS = (
        "plan", "paid", "built", "restored", "up_to_date", "failed", "removed", "skipped",
        "cached", "seconds", "dry_run", "paid_renders", "paid_cost", "takes_written",
        "takes_removed", "built_takes", "done_but_failed",
    )  # fmt: skip
    __slots__ = FIELDS
    __hash__ = None  # type: ignore[assignment]  # it changes as the build goes: unhashable

    def __init__(self, plan: Plan, paid: bool, *, paid_cost: Money | None = None) -> None:
        self.plan = plan
        self.paid = paid  # the backend bills renders
        self.built: list[str] = []
        self.restored: list[str] = []
        self.up_to_date: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.removed: list[str] = []
        self.skipped: list[str] = []
        self.cached: list[str] = []  # earlier versions finished into the cache
        self.seconds = 0.0  # seconds of video rendered by this build
        self.dry_run: list[Would] = []  # what it would do
        # what this run paid: jobs it created (a job resumed from an earlier run, or a
        # create sent again under its Idempotency-Key, was paid before and is not counted)
        self.paid_renders = 0
        self.paid_cost = paid_cost  # None: a free backend, or a type the table has no price for
        self.takes_written: list[str] = []  # takes/<shot>/<n>.mp4 written
        self.takes_removed: list[str] = []  # stale take files removed
        self.built_takes = 0  # renders this build made (a shot's own and its other takes)
        # shots counted as failed (another take failed) whose output was up to date or restored
        self.done_but_failed: list[str] = []

    def add_built(self, name: str) -> None:
        """A shot (or one of its takes) built: each shot is named once, and only as
        built (a shot whose take 1 was up to date or restored and whose other takes
        were rendered is built); `built_takes` counts every take."""
        self.built_takes += 1
        if name not in self.built:
            self.built.append(name)
        _drop(self.restored, name)
        _drop(self.up_to_date, name)

    def add_restored(self, name: str) -> None:
        """A shot (or one of its takes) restored: named once, and not as up to date;
        a shot built is not also restored."""
        if name in self.done_but_failed:
            return
        if name not in self.restored and name not in self.built:
            self.restored.append(name)
        _drop(self.up_to_date, name)

    def add_failed(self, name: str, message: str) -> None:
        """A shot (or one of its takes) failed: counted as failed, not also as up to
        date or restored (its output may be, and its sequences still use it)."""
        self.failed.append((name, message))
        if name in self.up_to_date or name in self.restored:
            self.done_but_failed.append(name)
        _drop(self.up_to_date, name)
        _drop(self.restored, name)

    @property
    def done(self) -> list[str]:
        """The shots whose output this build left in place (built, restored, up to date)."""
        return [*self.built, *self.restored, *self.up_to_date, *self.done_but_failed]

    def add_paid(self, cost: Money | None) -> None:
        """One job this run created, costing `cost` (None: not priced)."""
        self.paid_renders += 1
        if self.paid_cost is not None and cost is not None:
            self.paid_cost = self.paid_cost + cost
        else:
            self.paid_cost = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "spec": str(self.plan.spec.path),
            "backend": self.plan.backend,
            "built": self.built,
            "restored": self.restored,
            "up_to_date": self.up_to_date,
            "failed": [{"name": name, "message": message} for name, message in self.failed],
            "removed": self.removed,
            "not_started": self.skipped,
            "earlier_versions_cached": self.cached,
            "seconds": self.seconds,
            "built_takes": self.built_takes,
            "paid": self.paid,
            "paid_renders": self.paid_renders,
            "paid_cost": self.paid_cost.as_json() if self.paid_cost is not None else None,
            "dry_run": [would.to_json() for would in self.dry_run],
            "takes_written": self.takes_written,
            "takes_removed": self.takes_removed,
        }


def _drop(names: list[str], name: str) -> None:
    if name in names:
        names.remove(name)
