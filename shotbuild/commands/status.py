"""`shotbuild status`: the plan, plus what the API says about shots in flight."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from shotbuild.backends.base import Backend, Remote
from shotbuild.commands._common import backend_option, echo_err, load, out_option, spec_argument
from shotbuild.errors import ShotbuildError
from shotbuild.plan import Plan, Resume


@click.command("status")
@spec_argument
@backend_option
@out_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(spec: Path | None, backend: str | None, out: Path | None, as_json: bool) -> int:
    """Like `plan`, and asks the API for the state of each job in flight."""
    from shotbuild.backends import get_backend
    from shotbuild.commands.plan import show_plan
    from shotbuild.plan import make_plan
    from shotbuild.store.cache import Cache

    loaded = load(spec)
    chosen = get_backend(backend)
    with Cache() as cache:
        plan = make_plan(loaded, chosen, cache, out=out)
    live: dict[str, str] = {}
    if _in_flight(plan):
        try:
            live = asyncio.run(live_states(plan, chosen))
        except ShotbuildError as e:  # the plan still stands; say why the live part is missing
            echo_err(f"shotbuild: cannot ask the API about jobs in flight: {e}")
    if as_json:
        doc = plan.to_json()
        for item in doc["shots"]:
            if item["name"] in live:
                item["api_status"] = live[item["name"]]
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        show_plan(plan, live)
    return 0


def _in_flight(plan: Plan) -> list[tuple[str, str]]:
    return [
        (i.name, i.job.video_id) for i in plan.items if isinstance(i, Resume) and i.job.video_id
    ]


async def live_states(plan: Plan, backend: Backend) -> dict[str, str]:
    """The API's word on each job in flight (remote backends only)."""
    worker = backend.worker()
    if not isinstance(worker, Remote):
        return {}
    out: dict[str, str] = {}
    try:
        for name, video_id in _in_flight(plan):
            answer = await worker.jobs.status(video_id)
            why = ": ".join(x for x in (answer.failure_code, answer.failure_message) if x)
            out[name] = f"{answer.state}" + (f" ({why})" if why else "")
    finally:
        await worker.jobs.close()
    return out
