"""`shotbuild looks`: the account's avatar looks (all pages), to copy IDs from."""

from __future__ import annotations

import asyncio
import json

import click

from shotbuild.heygen import HeyGenClient, Look, RetryPolicy

FORMAT_VERSION = 1
COLUMNS = (
    ("ID", "id"),
    ("NAME", "name"),
    ("TYPE", "avatar_type"),
    ("ORIENTATION", "preferred_orientation"),
)


@click.command("looks")
@click.option(
    "--ownership",
    type=click.Choice(["private", "public"]),
    help="Only your own looks (private) or HeyGen's stock looks (public).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(ownership: str | None, as_json: bool) -> int:
    """List avatar looks (every page) from HEYGEN_BASE_URL with HEYGEN_API_KEY."""
    looks = asyncio.run(fetch_looks(ownership))
    if as_json:
        doc = {"format_version": FORMAT_VERSION, "looks": [look.as_json() for look in looks]}
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        for line in table(looks):
            click.echo(line)
        click.echo(f"{len(looks)} look{'s' if len(looks) != 1 else ''}", err=True)
    return 0


async def fetch_looks(ownership: str | None) -> list[Look]:
    # Someone is waiting at a terminal: three tries (about 3 s), not a build's six.
    async with HeyGenClient.from_env(retry=RetryPolicy(attempts=3)) as client:
        return await client.list_looks(ownership=ownership)


def table(looks: list[Look]) -> list[str]:
    """Aligned columns: a header line, then one line per look ("-" for unknown)."""
    rows = [[title for title, _ in COLUMNS]]
    rows += [[getattr(look, attr) or "-" for _, attr in COLUMNS] for look in looks]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
