"""What several commands share: finding the spec and naming the backend."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shotbuild.commands.loading import load as load  # click-free, for a plain build

if TYPE_CHECKING:
    from shotbuild.report.base import Output  # the report package: not for a build


spec_argument = click.argument(
    "spec", required=False, type=click.Path(dir_okay=False, path_type=Path)
)
backend_option = click.option(
    "--backend",
    type=click.Choice(["heygen", "preview"]),
    default=None,
    help="heygen (the paid API) or preview (offline animatics);"
    " default: $SHOTBUILD_BACKEND, else heygen.",
)
out_option = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Build folder (default: the spec's build_dir, else build/ beside the spec).",
)


def echo_err(text: str = "", **kw: Any) -> None:
    click.echo(text, err=True, **kw)


def echo_output(output: Output) -> None:
    """A reporter's lines: the result on stdout, then the words for people on stderr."""
    for line in output.stdout:
        click.echo(line)
    for line in output.stderr:
        echo_err(line)
