"""Status: the plan, plus what the API says about each job in flight. A value for
the CLI (`shotbuild status`) and the Python API (`shotbuild.api.status`) alike.

Jobs in flight exist only for the heygen backend (the paid API); their states are
asked of the API these settings name, through a narrow job source (`status`,
`close`: the heygen backend's job runner). When the API cannot be asked (no key,
no network), the plan still stands and `live_error` says why."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shotbuild.backends.base import JobStatus
from shotbuild.errors import ShotbuildError
from shotbuild.plan import Plan, Resume, make_plan
from shotbuild.settings import Settings
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache


class JobSource(Protocol):
    """Where the state of a submitted job is asked (the heygen backend)."""

    async def status(self, video_id: str) -> JobStatus: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Status:
    plan: Plan
    live: Mapping[str, str] = field(default_factory=dict)  # shot -> the API's state
    live_error: str | None = None  # why the API could not be asked

    def to_json(self) -> dict[str, Any]:
        """The plan's document, each shot in flight with its `api_status`."""
        doc = self.plan.to_json()
        shots = [_with_live(item, self.live) for item in doc["shots"]]
        return {**doc, "shots": shots}


def _with_live(item: dict[str, Any], live: Mapping[str, str]) -> dict[str, Any]:
    name = item["name"]
    unfinished = item.get("take_unfinished")
    if unfinished is not None:  # a killed reroll's or force's take: its own job's state
        label = f"{name} (take {unfinished['take']})"
        if label in live:
            item = {**item, "take_unfinished": {**unfinished, "api_status": live[label]}}
    return {**item, "api_status": live[name]} if name in live else item


def in_flight(plan: Plan) -> list[tuple[str, str]]:
    """(shot, video_id) of each shot whose job is in flight; another take of a shot
    is named by its label ("a (take 2)"), as is a shot's unfinished new take."""
    flying = [
        (i.label, i.job.video_id)
        for i in (*plan.items, *plan.extra)
        if isinstance(i, Resume) and i.job.video_id
    ]
    return flying + [
        (f"{name} (take {u.take})", u.job.video_id)
        for name, u in plan.unfinished.items()
        if u.job.video_id
    ]


def status(
    spec: Spec,
    settings: Settings,
    cache: Cache,
    *,
    out: Path | None = None,
    jobs: JobSource | None = None,
) -> Status:
    """The plan for `settings.backend`, and the API's state of each job in flight
    (asked of `jobs`, default the heygen backend these settings name)."""
    plan = make_plan(spec, settings.open_backend(), cache, out=out)
    flying = in_flight(plan)
    if not flying:
        return Status(plan)
    source = jobs if jobs is not None else _heygen_jobs(settings)
    try:
        return Status(plan, asyncio.run(live_states(flying, source)))
    except ShotbuildError as e:  # the plan still stands; say why the live part is missing
        return Status(plan, live_error=str(e))


def _heygen_jobs(settings: Settings) -> JobSource:
    from shotbuild.backends.heygen import HeyGenBackend

    return HeyGenBackend(settings.heygen.base_url, settings.heygen.api_key)


async def live_states(flying: list[tuple[str, str]], jobs: JobSource) -> dict[str, str]:
    """Each shot's job state, e.g. "pending" or "failed (code: message)"."""
    out: dict[str, str] = {}
    try:
        for name, video_id in flying:
            answer = await jobs.status(video_id)
            why = ": ".join(x for x in (answer.failure_code, answer.failure_message) if x)
            out[name] = answer.state + (f" ({why})" if why else "")
    finally:
        await jobs.close()
    return out
