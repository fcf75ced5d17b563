"""The Python API, mirroring the CLI:

import shotbuild.api as sb
spec = sb.load("shots.yaml")
print(sb.plan(spec, backend="preview").to_json())
result = sb.build(spec, backend="preview", jobs=2)
print(sb.status(spec).live)  # the API's state of each job in flight
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shotbuild.build import BuildOptions, BuildResult
from shotbuild.jobstatus import Status
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
    "plan",
    "status",
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
    dry_run, max_seconds, timeout, out, rerender_missing). The remote cache is
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
