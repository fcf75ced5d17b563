"""`shotbuild gc`: drop cache entries that no lock or build folder refers to."""

from __future__ import annotations

import click

from shotbuild.commands._common import echo_err


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Report what would be dropped; drop nothing.")
def cli(dry_run: bool) -> int:
    """Drop renders and records that no known spec's shots.lock or build folder
    refers to, and say how much space that frees. Jobs still in flight are kept."""
    from shotbuild.store.cache import Cache
    from shotbuild.store.gc import collect

    with Cache() as cache:
        report = collect(cache, dry_run=dry_run)
    verb = "would free" if dry_run else "freed"
    specs = f"{report.specs} spec" + ("" if report.specs == 1 else "s")
    echo_err(
        f"gc: {report.results} results, {report.blobs} blobs; {verb} {report.bytes / 1e6:.1f} MB"
        f" ({report.kept_blobs} blobs kept for {specs})"
    )
    return 0
