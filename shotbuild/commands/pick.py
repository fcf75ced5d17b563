"""`shotbuild pick SHOT TAKE [SPEC]`: which take of a shot ships (no render, ever)."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.commands._common import echo_err, load, spec_argument
from shotbuild.progress import NullReporter


@click.command("pick")
@click.argument("shot")
@click.argument("take", type=click.IntRange(1, 999))
@spec_argument
def cli(shot: str, take: int, spec: Path | None) -> int:
    """Make take TAKE of SHOT the one that ships: set the pick in shots.lock and put
    its video at build/<SHOT>.mp4, from the cache, the remote cache, or a download
    by video_id. Never renders. `shotbuild takes` lists the takes."""
    from shotbuild.picking import pick
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

    loaded = load(spec)
    said = _Said()
    settings = Settings.resolve(loaded.root, backend="heygen")
    remote = settings.remote.open()
    with Cache() as cache:
        picked = pick(
            loaded,
            settings.open_backend(cache),
            cache,
            shot,
            take,
            remote=remote,
            reporter=said,
        )
    failed = [message for name, message in picked.result.failed if name == shot]
    for message in failed:  # the take's bytes are not in place (a cut's failure is said below)
        echo_err(f"shotbuild: {shot}: take {take} is picked in the lock, but: {message}")
    if not failed:
        already = "" if picked.changed else " (it was picked already)"
        where = picked.result.plan.build_dir / f"{shot}.mp4"
        echo_err(f"{shot}: take {take} picked{already}: {picked.entry.video_id} at {where}")
    for line in said.lines:  # each cut of the shot re-assembled (or why not), notes
        echo_err(line)
    return 0 if picked.ok else 1


class _Said(NullReporter):
    """What the pick's build says in lines (a cut re-assembled, a note), kept to be
    said after the pick itself; its progress per shot is not shown."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)
