"""`shotbuild takes [SPEC] [SHOT...]`: every take of each shot, and which is picked."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shotbuild.commands._common import echo_err, load, spec_argument


@click.command("takes")
@spec_argument
@click.argument("shots", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option(
    "--history",
    is_flag=True,
    help="Also the paid renders of earlier inputs still on record (with their prompt's"
    " first words): going back to those inputs restores them for free.",
)
def cli(spec: Path | None, shots: tuple[str, ...], as_json: bool, history: bool) -> int:
    """List the takes of SHOTS (default: every shot) in SPEC's lock: number,
    video_id, when it was rendered, and which one is picked (`*`). `shotbuild pick
    SHOT N` changes the pick; `shotbuild reroll SHOT` renders another take."""
    from shotbuild.picking import list_takes
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

    if spec is not None and spec.suffix not in (".yaml", ".yml"):
        shots, spec = (str(spec), *shots), None  # `shotbuild takes a b`: shots, no spec
    loaded = load(spec)
    settings = Settings.resolve(loaded.root, backend="heygen")
    with Cache() as cache:
        rows = list_takes(loaded, settings.open_backend(cache), cache, shots, history=history)
    if as_json:
        doc = {"format_version": 1, "takes": [row.to_json() for row in rows]}
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return 0
    if not rows:
        echo_err("no takes on record yet: `shotbuild build` renders take 1 of each shot")
        return 0
    click.echo(f"{'shot':<20} {'take':>4}  {'video_id':<24} {'when':<20} picked")
    for row in rows:
        mark = "*" if row.picked else ""
        if not row.current:
            mark = f"(earlier inputs: {row.prompt})" if row.prompt else "(earlier inputs)"
        click.echo(f"{row.shot:<20} {row.take:>4}  {row.video_id:<24} {row.when:<20} {mark}")
    return 0
