"""`shotbuild validate [PATH...]`: check spec files offline, every problem in
every file, as text, JSON or GitHub Actions annotations. Exit 0 when all are
valid, 1 otherwise. Imports nothing that talks to the network."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.commands._common import echo_output
from shotbuild.report.validate import REPORTERS
from shotbuild.spec.files import check_paths


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="text: path:line:col: message lines; json: one document; github: annotations.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="The same as --format json (as every other command says it).",
)
def cli(paths: tuple[Path, ...], output_format: str, as_json: bool) -> int:
    """Check spec files offline and list every problem in every file.

    PATH is a spec file or a folder (searched for shots.yaml, shots.yml,
    *.shots.yaml and *.shots.yml); the default is shots.yaml here.
    Exit status: 0 when every file is valid, 1 otherwise."""
    results = check_paths(paths)
    echo_output(REPORTERS["json" if as_json else output_format](results))
    return 1 if any(r.problems for r in results) else 0
