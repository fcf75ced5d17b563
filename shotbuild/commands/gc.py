"""`shotbuild gc`: drop cache bytes that can be fetched again; never a paid render's record."""

from __future__ import annotations

import sys

import click

from shotbuild.commands._common import echo_err


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Report what would be dropped; drop nothing.")
@click.option(
    "--drop-paid-records",
    is_flag=True,
    help="Also forget the paid renders no lock or build folder refers to (asks on a terminal).",
)
def cli(dry_run: bool, drop_paid_records: bool) -> int:
    """Drop the bytes of renders that no known spec's shots.lock or build folder
    refers to (they can be fetched again by video_id), and previews' results, and
    say how much space that frees. The record of every paid render is kept, so
    going back to earlier inputs restores their takes with no new render; only
    --drop-paid-records forgets them. Jobs still in flight are kept."""
    from shotbuild.store.cache import Cache
    from shotbuild.store.gc import collect

    with Cache() as cache:
        if drop_paid_records and not dry_run and not _confirmed(cache):
            echo_err("gc: nothing dropped")
            return 1
        report = collect(cache, dry_run=dry_run, drop_paid_records=drop_paid_records)
    verb = "would drop" if dry_run else "dropped"
    specs = f"{report.specs} spec" + ("" if report.specs == 1 else "s")
    forgot = f"; {verb} the records of {report.forgotten} paid renders" if drop_paid_records else ""
    echo_err(
        f"gc: {verb} {report.results} results and {report.blobs} renders"
        f" ({report.bytes / 1e6:.1f} MB); kept {report.kept_blobs} renders that the locks"
        f" and build folders of {specs} refer to, and the records of {report.paid} paid"
        f" renders ({report.paid_refetchable} without bytes here, fetched again by video_id"
        f" when needed){forgot}"
    )
    return 0


def _confirmed(cache: object) -> bool:
    """On a terminal, say what would be forgotten and ask; elsewhere the flag is enough."""
    from shotbuild.store.cache import Cache
    from shotbuild.store.gc import collect

    if not sys.stdin.isatty():
        return True
    assert isinstance(cache, Cache)
    n = collect(cache, dry_run=True, drop_paid_records=True).forgotten
    return click.confirm(
        f"Forget {n} paid renders for good? Their takes can then only be had by paying again",
        default=False,
        err=True,
    )
