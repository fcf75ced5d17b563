"""`shotbuild build` without click: what the command does once its arguments are
read. The click command (shotbuild.commands.build) and a plain build's early path
(shotbuild.commands.plain, which skips importing click) both come here."""

from __future__ import annotations

from pathlib import Path

from shotbuild.buildflags import JOBS, TIMEOUT

TYPE_CHECKING = False  # typing is not imported on a plain build's path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from shotbuild.build import BuildOptions, BuildResult
    from shotbuild.money import Money, PriceTable
    from shotbuild.plan import Plan
    from shotbuild.settings import Settings
    from shotbuild.spec.model import Spec
    from shotbuild.store.cache import Cache

    PlanCheck = Callable[[Plan, str], None]  # (the build's plan, its backend identity)


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


def build_command(
    spec: Path | None,
    *,
    jobs: int = JOBS,
    keep_going: bool = False,
    only: tuple[str, ...] = (),
    force: tuple[str, ...] = (),
    all_takes: bool = False,
    dry_run: bool = False,
    max_seconds: float | None = None,
    max_cost: str | None = None,
    yes: bool = False,
    backend: str | None = None,
    out: Path | None = None,
    timeout: float = TIMEOUT,
    rerender_missing: bool = False,
    remote_cache: str | None = None,
    remote_cache_mode: str | None = None,
    as_json: bool = False,
    quiet: bool = False,
    verbose: bool = False,
    saved: Path | None = None,
) -> int:
    """`shotbuild build` with these options (the defaults are the command line's)."""
    from shotbuild.build import BuildOptions
    from shotbuild.buildflags import is_plain
    from shotbuild.commands.loading import load
    from shotbuild.noop import Watch
    from shotbuild.settings import Settings

    plain = is_plain(locals())  # the parameters (click's names), none changed yet

    check = None
    if saved is not None:
        check = saved_plan_check(saved, only=only, force=force)
        yes = True  # the saved plan is the confirmation (terraform apply plan.out)
    loaded = load(spec)
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
                freeze_plan=True,  # a command's process ends with its build
            )
        finally:
            reporter.close()
        if after is not None:
            after(result, cache)
    if json:
        _echo_json(result)
    if options.dry_run:
        _say_dry_run(result)
        return 0
    reporter.summary(result)
    return result.exit_code


def _echo_json(result: BuildResult) -> None:
    from json import dumps

    import click  # --json and --dry-run come by the click command: click is loaded

    click.echo(dumps(result.to_json(), indent=2, sort_keys=True))


def _say_dry_run(result: BuildResult) -> None:
    import click

    for would in result.dry_run:
        click.echo(f"{would.said}: would {would.what}", err=True)
    if not result.dry_run:
        click.echo("nothing to do", err=True)


def asker(*, yes: bool, confirm: bool | None) -> Callable[[int, Money], bool]:
    """Before a build pays: "3 renders, $21.00. Render? [y/N]", only on a terminal
    (stdin and stderr), never with -y/--yes or `confirm = false`; else yes."""
    import sys

    from shotbuild.money import confirmation_question, should_confirm

    interactive = sys.stdin.isatty() and sys.stderr.isatty()

    def ask(renders: int, cost: Money) -> bool:
        if not should_confirm(renders=renders, yes=yes, interactive=interactive, confirm=confirm):
            return True
        import click  # only to ask, on a terminal

        return click.confirm(confirmation_question(renders, cost), default=False, err=True)

    return ask
