"""`shotbuild clean`: remove the build outputs shotbuild wrote (and nothing else)."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.commands._common import echo_err, load, out_option, spec_argument


@click.command("clean")
@spec_argument
@out_option
@click.option("--dry-run", is_flag=True, help="List what would be removed.")
def cli(spec: Path | None, out: Path | None, dry_run: bool) -> int:
    """Remove the outputs shotbuild wrote to the build folder (every backend).

    Other files there are never touched; the lock and the cache stay, so the
    next build restores outputs without rendering."""
    from shotbuild.clean import clean

    cleaned = clean(load(spec), out, dry_run=dry_run)
    for path in cleaned.paths:
        echo_err(f"{'would remove' if dry_run else 'removed'} {path}")
    for path in cleaned.kept:
        echo_err(f"kept {path}: it is not the file shotbuild wrote there")
    return 0
