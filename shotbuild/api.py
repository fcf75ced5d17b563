"""The Python API, mirroring the CLI:

import shotbuild.api as sb
spec = sb.load("shots.yaml")
print(sb.plan(spec, backend="preview").to_json())
result = sb.build(spec, backend="preview", jobs=2)
print(sb.status(spec).live)  # the API's state of each job in flight
sb.reroll(spec, ["intro"])      # one more paid take of intro (the output stays)
print([t.to_json() for t in sb.takes(spec, ["intro"])])
sb.pick(spec, "intro", 2)       # take 2 ships: lock and build/intro.mp4, no render
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shotbuild.build import BuildOptions, BuildResult
from shotbuild.jobstatus import Status
from shotbuild.picking import Picked, TakeRow
from shotbuild.plan import Plan, make_plan
from shotbuild.progress import Reporter
from shotbuild.settings import Settings
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache

__all__ = [
    "BuildOptions",
    "BuildResult",
    "Plan",
    "Spec",
    "Status",
    "build",
    "load",
    "pick",
    "plan",
    "reroll",
    "status",
    "takes",
]


def load(path: str | Path = "shots.yaml") -> Spec:
    """Load and validate a spec (raises SpecInvalid listing every problem)."""
    import gc

    from shotbuild.spec import load_spec

    spec = load_spec(Path(path))
    # as the CLI does: the spec lives as long as the caller's work, so the cyclic
    # collector need not walk its (acyclic) objects again and again while planning
    gc.freeze()
    return spec


def _spec(spec: Spec | str | Path) -> Spec:
    return spec if isinstance(spec, Spec) else load(spec)


def plan(
    spec: Spec | str | Path, *, backend: str | None = None, out: str | Path | None = None
) -> Plan:
    """What a build would do, offline: one item per shot with a status and a reason."""
    loaded = _spec(spec)
    settings = Settings.resolve(loaded.root, backend=backend)
    with Cache() as cache:
        return make_plan(
            loaded, settings.open_backend(), cache, out=Path(out) if out is not None else None
        )


def status(
    spec: Spec | str | Path, *, backend: str | None = None, out: str | Path | None = None
) -> Status:
    """The plan, plus the API's state of each job in flight (`.live`, by shot name;
    `.live_error` says why the API could not be asked)."""
    from shotbuild.jobstatus import status as run

    loaded = _spec(spec)
    settings = Settings.resolve(loaded.root, backend=backend)
    with Cache() as cache:
        return run(loaded, settings, cache, out=Path(out) if out is not None else None)


def build(
    spec: Spec | str | Path,
    *,
    backend: str | None = None,
    reporter: Reporter | None = None,
    remote_cache: str | None = None,
    remote_cache_mode: str | None = None,
    **options: Any,
) -> BuildResult:
    """Build a spec; options are BuildOptions' fields (jobs, keep_going, only, force,
    all_takes, dry_run, max_seconds, timeout, out, rerender_missing). `force` shots get
    a new take, picked (reroll + pick); `all_takes` writes build/takes/<shot>/<n>.mp4
    for every take on record of each shot's current inputs. The remote cache is
    `remote_cache`, else $SHOTBUILD_REMOTE_CACHE, else the project config file.
    Failed shots are in `result.failed`."""
    from shotbuild.build import build as run

    if options.get("out") is not None:
        options["out"] = Path(options["out"])
    for name in ("only", "force"):
        if name in options:
            options[name] = tuple(options[name])
    loaded = _spec(spec)
    settings = Settings.resolve(
        loaded.root, backend=backend, remote_cache=remote_cache, remote_cache_mode=remote_cache_mode
    )
    remote = settings.remote.open()
    with Cache() as cache:
        return run(
            loaded,
            settings.open_backend(cache),
            BuildOptions(**options),
            cache=cache,
            reporter=reporter,
            remote=remote,
        )


def takes(
    spec: Spec | str | Path, shots: list[str] | tuple[str, ...] = (), *, history: bool = False
) -> list[TakeRow]:
    """Every take in the lock of `shots` (default: all), and which is picked;
    `history` adds the paid renders of earlier inputs still on record."""
    from shotbuild.picking import list_takes

    loaded = _spec(spec)
    settings = Settings.resolve(loaded.root, backend="heygen")
    with Cache() as cache:
        return list_takes(
            loaded, settings.open_backend(cache), cache, tuple(shots), history=history
        )


def pick(spec: Spec | str | Path, shot: str, take: int) -> Picked:
    """Make take `take` the shot's pick and put it at build/<shot>.mp4: from the
    cache, the remote cache, or a download by video_id; never a render.
    `.result.failed` says when its bytes could not be put in place."""
    from shotbuild.picking import pick as run

    loaded = _spec(spec)
    settings = Settings.resolve(loaded.root, backend="heygen")
    remote = settings.remote.open()
    with Cache() as cache:
        return run(loaded, settings.open_backend(cache), cache, shot, take, remote=remote)


def reroll(
    spec: Spec | str | Path,
    shots: list[str] | tuple[str, ...],
    *,
    pick: bool = False,
    max_seconds: float | None = None,
    reporter: Reporter | None = None,
) -> BuildResult:
    """Render one more take of each shot's current inputs (paid); `pick` makes the
    new takes the picks. Interrupted, it resumes the same takes when run again."""
    return build(
        spec,
        backend="heygen",
        reporter=reporter,
        only=tuple(shots),
        reroll=tuple(shots),
        pick_rerolled=pick,
        max_seconds=max_seconds,
    )
