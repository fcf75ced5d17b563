"""`shotbuild reroll SHOT... [SPEC]`: one more paid take of each shot's inputs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shotbuild.commands._common import load
from shotbuild.errors import UsageError


def shots_and_spec(args: tuple[str, ...]) -> tuple[tuple[str, ...], Path | None]:
    """SHOT... [SPEC]: a last argument ending in .yaml or .yml is the spec."""
    if args and args[-1].endswith((".yaml", ".yml")):
        return args[:-1], Path(args[-1])
    return args, None


@click.command("reroll")
@click.argument("args", nargs=-1, required=True, metavar="SHOT... [SPEC]")
@click.option("--pick", is_flag=True, help="Make each new take the pick (and build/<shot>.mp4).")
@click.option(
    "--max-seconds",
    type=click.FloatRange(0),
    default=None,
    help="Refuse to submit more than this many seconds of video.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be submitted; do nothing.")
@click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON document on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Only failures and the summary.")
def cli(
    args: tuple[str, ...],
    pick: bool,
    max_seconds: float | None,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """Render one more take of each SHOT's current inputs (a paid job each; the
    output and the pick stay as they are unless --pick). A reroll interrupted
    after its create resumes that take when run again: it never pays twice."""
    from shotbuild.build import BuildOptions, build
    from shotbuild.commands.build import FLAGS
    from shotbuild.progress import reporter_for
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

    shots, spec = shots_and_spec(args)
    if not shots:
        raise UsageError(
            "shotbuild reroll: name the shots to reroll, e.g. `shotbuild reroll intro`"
        )
    loaded = load(spec)
    options = BuildOptions(
        only=shots, reroll=shots, pick_rerolled=pick, max_seconds=max_seconds, dry_run=dry_run
    )
    settings = Settings.resolve(loaded.root, backend="heygen")
    remote = settings.remote.open()
    reporter = reporter_for(quiet=quiet, verbose=False)
    names = {**FLAGS, "only": "shotbuild reroll", "reroll": "shotbuild reroll"}
    with Cache() as cache:
        try:
            result = build(
                loaded,
                settings.open_backend(cache),
                options,
                cache=cache,
                reporter=reporter,
                remote=remote,
                names=names,
            )
        finally:
            reporter.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    if dry_run:
        for name, what in result.dry_run:
            click.echo(f"{name}: would {what}", err=True)
        return 0
    reporter.summary(result)
    return result.exit_code
