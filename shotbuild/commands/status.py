"""`shotbuild status`: the plan, plus what the API says about shots in flight."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shotbuild.commands._common import backend_option, echo_err, load, out_option, spec_argument


@click.command("status")
@spec_argument
@backend_option
@out_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(spec: Path | None, backend: str | None, out: Path | None, as_json: bool) -> int:
    """Like `plan`, and asks the API for the state of each job in flight."""
    from shotbuild.commands.plan import show_plan
    from shotbuild.jobstatus import status
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

    loaded = load(spec)
    settings = Settings.resolve(loaded.root, backend=backend)
    with Cache() as cache:
        result = status(loaded, settings, cache, out=out)
    if result.live_error:
        echo_err(f"shotbuild: cannot ask the API about jobs in flight: {result.live_error}")
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        show_plan(result.plan, result.live)
    return 0
