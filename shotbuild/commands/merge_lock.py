"""`shotbuild merge-lock BASE OURS THEIRS`: a git merge driver for shots.lock.

Git runs it as ``shotbuild merge-lock %O %A %B`` and takes the file left at OURS
(%A) as the result: exit 0 for a clean merge, non-zero for a conflict. The merge
itself (shot by shot, take by take) is `shotbuild.store.lockmerge`; this command
reads the three sides, writes OURS (always a valid lock) and names each
conflicted shot on stderr."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.errors import EXIT_FAILED, EXIT_OK, UsageError
from shotbuild.store.lock import write_lock_file
from shotbuild.store.lockmerge import merge_lock_files, read_side


def merge_lock(base: Path, ours: Path, theirs: Path, lock_name: str = "shots.lock") -> int:
    """Merge THEIRS into OURS against BASE, writing OURS; 1 when shots conflict."""
    merged, conflicts = merge_lock_files(
        read_side(base, "base", lock_name),
        read_side(ours, "ours", lock_name),
        read_side(theirs, "theirs", lock_name),
    )
    write_lock_file(ours, merged)
    for conflict in conflicts:
        click.echo(conflict.describe(lock_name), err=True)
    return EXIT_FAILED if conflicts else EXIT_OK


_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("merge-lock")
@click.argument("base", type=_FILE, required=False)
@click.argument("ours", type=_FILE, required=False)
@click.argument("theirs", type=_FILE, required=False)
@click.argument("path", required=False, default="shots.lock")
@click.option(
    "--install",
    is_flag=True,
    help="Set the driver up in this clone (git config + .gitattributes) and exit.",
)
@click.option(
    "--pattern",
    "patterns",
    multiple=True,
    default=("shots.lock",),
    show_default=True,
    help="With --install: a .gitattributes pattern of lock files (repeatable).",
)
def cli(
    base: Path | None,
    ours: Path | None,
    theirs: Path | None,
    path: str,
    install: bool,
    patterns: tuple[str, ...],
) -> int:
    """Merge shots.lock shot by shot and take by take: a git merge driver.

    Git calls it with %O %A %B (base, ours, theirs) and reads the result from OURS;
    give %P as PATH to name the lock in messages. Set it up once per clone with
    `shotbuild merge-lock --install`: it writes to this clone's git config

    \b
      merge.shotbuild-lock.driver = '<this python>' -m shotbuild merge-lock %O %A %B

    (the absolute path of the Python shotbuild runs in, so git finds it without the
    virtualenv on its PATH) and adds `shots.lock merge=shotbuild-lock` to the top
    .gitattributes if it is not there (commit that file; --pattern for other names).

    Both sides' takes of a shot are kept. Exit 0: merged cleanly. Exit 1: shots
    conflict (each named on stderr with how to resolve it, e.g. `shotbuild pick
    SHOT N` when both sides picked a different take; OURS is still a valid lock)
    or a side is not a valid lock.
    """
    if install:
        return _install(patterns)
    if base is None or ours is None or theirs is None:
        raise UsageError(
            "usage: shotbuild merge-lock BASE OURS THEIRS [PATH] (git runs it), or"
            " shotbuild merge-lock --install (set it up in this clone)"
        )
    return merge_lock(base, ours, theirs, path)


def _install(patterns: tuple[str, ...]) -> int:
    from shotbuild.mergedriver import install

    done = install(patterns)
    click.echo(f"{done.root}: git config merge.shotbuild-lock.driver = {done.driver}")
    if done.added:
        added = ", ".join(done.added)
        click.echo(f"{done.attributes}: added {added}; commit it so the team merges alike")
    else:
        click.echo(f"{done.attributes}: already routes the locks to the driver")
    return EXIT_OK
