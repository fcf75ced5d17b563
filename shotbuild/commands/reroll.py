"""`shotbuild reroll SHOT... [SPEC]`: one more paid take of each shot's inputs."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.commands._common import (
    load,
    max_seconds_option,
    outcome_json_option,
    yes_option,
)
from shotbuild.errors import UsageError


def shots_and_spec(args: tuple[str, ...]) -> tuple[tuple[str, ...], Path | None]:
    """SHOT... [SPEC]: a last argument ending in .yaml or .yml is the spec."""
    if args and args[-1].endswith((".yaml", ".yml")):
        return args[:-1], Path(args[-1])
    return args, None


@click.command("reroll")
@click.argument("args", nargs=-1, required=True, metavar="SHOT... [SPEC]")
@click.option("--pick", is_flag=True, help="Make each new take the pick (and build/<shot>.mp4).")
@max_seconds_option
@click.option(
    "--max-cost",
    default=None,
    metavar="AMOUNT",
    help="Refuse, before any create, a reroll that would spend more (e.g. 14 or $14.00);"
    " default: max_cost in the project config.",
)
@yes_option
@click.option("--dry-run", is_flag=True, help="Say what would be submitted; do nothing.")
@outcome_json_option
@click.option("-q", "--quiet", is_flag=True, help="Only failures and the summary.")
def cli(
    args: tuple[str, ...],
    pick: bool,
    max_seconds: float | None,
    max_cost: str | None,
    yes: bool,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """Render one more take of each SHOT's current inputs (a paid job each; the
    output and the pick stay as they are unless --pick). A reroll interrupted
    after its create resumes that take when run again: it never pays twice."""
    from shotbuild.build import BuildOptions
    from shotbuild.commands.build import FLAGS, execute, money_limits
    from shotbuild.settings import Settings

    shots, spec = shots_and_spec(args)
    if not shots:
        raise UsageError(
            "shotbuild reroll: name the shots to reroll, e.g. `shotbuild reroll intro`"
        )
    loaded = load(spec)
    settings = Settings.resolve(loaded.root, backend="heygen")
    limit, prices = money_limits(settings, max_cost)
    options = BuildOptions(
        only=shots,
        reroll=shots,
        pick_rerolled=pick,
        max_seconds=max_seconds,
        max_cost=limit,
        prices=prices,
        dry_run=dry_run,
    )
    names = {**FLAGS, "only": "shotbuild reroll", "reroll": "shotbuild reroll"}
    return execute(
        loaded, settings, options, yes=yes, quiet=quiet, verbose=False, json=as_json, names=names
    )
