"""`shotbuild build`: restore what it can, render the rest, write outputs and lock.
The click command reads the arguments; shotbuild.commands.buildrun does the rest
(without click: a plain build's early path goes there directly)."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.buildflags import JOBS, TIMEOUT
from shotbuild.commands._common import (
    backend_option,
    file_option,
    max_seconds_option,
    out_option,
    outcome_json_option,
    spec_argument,
    yes_option,
)
from shotbuild.commands.buildrun import FLAGS as FLAGS
from shotbuild.commands.buildrun import asker as asker
from shotbuild.commands.buildrun import build_command
from shotbuild.commands.buildrun import execute as execute
from shotbuild.commands.buildrun import money_limits as money_limits
from shotbuild.commands.buildrun import saved_plan_check as saved_plan_check


@click.command("build")
@spec_argument
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=JOBS,
    show_default=True,
    help="Jobs rendering at HeyGen at once (a job's slot is free again when its render is"
    " done, before the download).",
)
@click.option(
    "-k", "--keep-going", is_flag=True, help="Go on with the other shots after a failure."
)
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Build only these shots (repeat or comma-separate).",
)
@click.option(
    "--force",
    multiple=True,
    metavar="NAME",
    help="Render a new take of these shots' current inputs and pick it (reroll + pick; the"
    " earlier takes stay on record: `shotbuild pick NAME N` brings one back).",
)
@click.option(
    "--all-takes",
    is_flag=True,
    help="Also write every take on record of each shot's current inputs as"
    " takes/<shot>/<n>.mp4 in the build folder (a build without it writes none there,"
    " and removes only the ones it wrote that are no longer takes on record).",
)
@click.option(
    "--dry-run", is_flag=True, help="Say what would be submitted and restored; do nothing."
)
@max_seconds_option
@click.option(
    "--max-cost",
    metavar="AMOUNT",
    default=None,
    help="Refuse, before anything is paid, a build that would spend more than this"
    " (e.g. 20 or 20.00; default: max_cost in the config file, else no limit).",
)
@yes_option
@backend_option
@out_option
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=TIMEOUT,
    show_default=True,
    help="Seconds to wait for one job; it stays recorded and the next build resumes it.",
)
@click.option(
    "--rerender-missing",
    is_flag=True,
    help="Render again a locked shot whose video HeyGen no longer has (404) and no remote"
    " cache holds; the new video differs from the approved one. Without it that shot fails.",
)
@click.option(
    "--remote-cache",
    metavar="URL",
    default=None,
    help="Shared remote cache (file://, s3://, gs://, az://); default: $SHOTBUILD_REMOTE_CACHE,"
    " else remote_cache in shotbuild.toml or [tool.shotbuild] of pyproject.toml.",
)
@click.option(
    "--remote-cache-mode",
    type=click.Choice(["read", "readwrite"]),
    default=None,
    help="read: only take from the remote cache (laptops); readwrite: also share what this"
    " build obtains (CI). Default: $SHOTBUILD_REMOTE_CACHE_MODE, else the config file,"
    " else readwrite.",
)
@file_option(
    "--plan",
    "saved",
    help="Do exactly the plan `shotbuild plan --out FILE` saved (it counts as the"
    " confirmation); refuse, paying nothing, when anything moved since.",
)
@outcome_json_option
@click.option("-q", "--quiet", is_flag=True, help="Only failures and the summary.")
@click.option("-v", "--verbose", is_flag=True, help="Every progress step as a plain line.")
def cli(
    spec: Path | None,
    jobs: int,
    keep_going: bool,
    only: tuple[str, ...],
    force: tuple[str, ...],
    all_takes: bool,
    dry_run: bool,
    max_seconds: float | None,
    max_cost: str | None,
    yes: bool,
    backend: str | None,
    out: Path | None,
    timeout: float,
    rerender_missing: bool,
    remote_cache: str | None,
    remote_cache_mode: str | None,
    as_json: bool,
    quiet: bool,
    verbose: bool,
    saved: Path | None = None,
) -> int:
    """Build SPEC (default: shots.yaml): each shot's output is restored from the
    build folder, the cache or the lock when its key is unchanged; the rest are
    rendered. Exit 1 when a shot failed."""
    return build_command(
        spec,
        jobs=jobs,
        keep_going=keep_going,
        only=only,
        force=force,
        all_takes=all_takes,
        dry_run=dry_run,
        max_seconds=max_seconds,
        max_cost=max_cost,
        yes=yes,
        backend=backend,
        out=out,
        timeout=timeout,
        rerender_missing=rerender_missing,
        remote_cache=remote_cache,
        remote_cache_mode=remote_cache_mode,
        as_json=as_json,
        quiet=quiet,
        verbose=verbose,
        saved=saved,
    )
