"""`shotbuild build`: restore what it can, render the rest, write outputs and lock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from json import dumps
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shotbuild.commands._common import (
    backend_option,
    echo_err,
    file_option,
    load,
    max_seconds_option,
    out_option,
    outcome_json_option,
    spec_argument,
    yes_option,
)

if TYPE_CHECKING:
    from shotbuild.build import BuildOptions, BuildResult
    from shotbuild.money import Money, PriceTable
    from shotbuild.plan import Plan
    from shotbuild.settings import Settings
    from shotbuild.spec.model import Spec
    from shotbuild.store.cache import Cache


PlanCheck = Callable[["Plan", str], None]  # (the build's plan, its backend identity)


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    """--only a --only b, or --only a,b."""
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


# how the engine's messages name the options, on the command line
FLAGS = {
    "only": "--only",
    "force": "--force",
    "all_takes": "--all-takes",
    "max_seconds": "--max-seconds",
    "max_cost": "--max-cost",
    "rerender_missing": "`shotbuild build --rerender-missing`",
}


@click.command("build")
@spec_argument
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=4,
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
    default=1800.0,
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
    from shotbuild.build import BuildOptions
    from shotbuild.buildflags import is_plain
    from shotbuild.noop import Watch
    from shotbuild.settings import Settings

    check = None
    if saved is not None:
        check = saved_plan_check(saved, only=only, force=force)
        yes = True  # the saved plan is the confirmation (terraform apply plan.out)
    loaded = load(spec)
    plain = is_plain(click.get_current_context().params)
    watch = Watch(loaded, backend) if plain else None
    settings = Settings.resolve(
        loaded.root,
        backend=backend,
        remote_cache=remote_cache,
        remote_cache_mode=remote_cache_mode,
    )
    limit, prices = money_limits(settings, max_cost)
    options = BuildOptions(
        jobs=jobs,
        keep_going=keep_going,
        only=_names(only),
        force=_names(force),
        all_takes=all_takes,
        dry_run=dry_run,
        max_seconds=max_seconds,
        timeout=timeout,
        out=out,
        rerender_missing=rerender_missing,
        max_cost=limit,
        prices=prices,
    )
    if settings.remote.url:
        watch = None  # a build that shares with a remote cache goes the ordinary way
    return execute(
        loaded,
        settings,
        options,
        yes=yes,
        quiet=quiet,
        verbose=verbose,
        json=as_json,
        check=check,
        after=watch.finish if watch is not None else None,
    )


def saved_plan_check(path: Path, *, only: tuple[str, ...], force: tuple[str, ...]) -> PlanCheck:
    """`--plan FILE`: the saved plan read (and checked) now, and the check a build
    makes of its own plan before it does anything: refuse when anything moved."""
    from shotbuild.errors import UsageError
    from shotbuild.savedplan import PlanMoved, moved, read_saved_plan, saved_plan_of

    if only or force:
        raise UsageError("--plan does the saved plan as it is: leave out --only and --force")
    saved = read_saved_plan(path)

    def check(plan: Plan, identity: str) -> None:
        what = moved(saved, saved_plan_of(plan, identity))
        if what is not None:
            raise PlanMoved(
                f"{path} is out of date: {what}; nothing was paid; run"
                f" `shotbuild plan --out {path}` again"
            )

    return check


def money_limits(settings: Settings, max_cost: str | None) -> tuple[Money | None, PriceTable]:
    """The spending limit (--max-cost, else the config's max_cost) and the price table."""
    from shotbuild.money import max_cost_option

    prices = settings.money.table()
    limit = max_cost_option(max_cost, prices) if max_cost is not None else settings.money.limit()
    return limit, prices


def execute(
    loaded: Spec,
    settings: Settings,
    options: BuildOptions,
    *,
    yes: bool,
    quiet: bool,
    verbose: bool,
    json: bool,
    names: Mapping[str, str] = FLAGS,
    check: PlanCheck | None = None,
    after: Callable[[BuildResult, Cache], None] | None = None,
) -> int:
    """Run a build (a plain one, or a reroll) and report it: the confirmation on a
    terminal, the live view or plain lines, the summary, --json and --dry-run.
    `after(result, cache)` is told the result (the no-op record is written there)."""
    from shotbuild.build import build
    from shotbuild.progress import reporter_for
    from shotbuild.store.cache import Cache

    ask = asker(yes=yes or options.dry_run, confirm=settings.money.confirm)
    remote = settings.remote.open()
    reporter = reporter_for(quiet=quiet, verbose=verbose)
    with Cache() as cache:
        backend = settings.open_backend(cache)
        try:
            result = build(
                loaded,
                backend,
                options,
                cache=cache,
                reporter=reporter,
                remote=remote,
                names=names,
                confirm=ask,
                check=None if check is None else lambda plan: check(plan, backend.identity),
            )
        finally:
            reporter.close()
        if after is not None:
            after(result, cache)
    if json:
        click.echo(dumps(result.to_json(), indent=2, sort_keys=True))
    if options.dry_run:
        for would in result.dry_run:
            echo_err(f"{would.said}: would {would.what}")
        if not result.dry_run:
            echo_err("nothing to do")
        return 0
    reporter.summary(result)
    return result.exit_code


def asker(*, yes: bool, confirm: bool | None) -> Callable[[int, Money], bool]:
    """Before a build pays: "3 renders, $21.00. Render? [y/N]", only on a terminal
    (stdin and stderr), never with -y/--yes or `confirm = false`; else yes."""
    import sys

    from shotbuild.money import confirmation_question, should_confirm

    interactive = sys.stdin.isatty() and sys.stderr.isatty()

    def ask(renders: int, cost: Money) -> bool:
        if not should_confirm(renders=renders, yes=yes, interactive=interactive, confirm=confirm):
            return True
        return click.confirm(confirmation_question(renders, cost), default=False, err=True)

    return ask
