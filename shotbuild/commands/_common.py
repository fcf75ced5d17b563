"""What several commands share: finding the spec, naming the backend, and the
options and arguments more than one command has."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from shotbuild.commands.loading import load as load  # click-free, for a plain build

if TYPE_CHECKING:
    from shotbuild.report.base import Output  # the report package: not for a build


F = TypeVar("F", bound=Callable[..., Any])

FILE = click.Path(dir_okay=False, path_type=Path)  # a file's path (FILE in the help)
FOLDER = click.Path(file_okay=False, path_type=Path)  # a folder's path
BUILD_FOLDER = "Build folder (default: the spec's build_dir, else build/ beside the spec)"


def file_option(*names: str, help: str) -> Callable[[F], F]:
    """An option naming a file (FILE in the help), None when not given."""
    return click.option(*names, type=FILE, default=None, metavar="FILE", help=help)


def folder_option(*names: str, help: str) -> Callable[[F], F]:
    """An option naming a folder, None when not given."""
    return click.option(*names, type=FOLDER, default=None, help=help)


spec_argument = click.argument("spec", required=False, type=FILE)
backend_option = click.option(
    "--backend",
    type=click.Choice(["heygen", "preview"]),
    default=None,
    help="heygen (the paid API) or preview (offline animatics);"
    " default: $SHOTBUILD_BACKEND, else heygen.",
)
out_option = folder_option("--out", help=f"{BUILD_FOLDER}.")
# what a build and a reroll share: the limits on what they pay, and how they answer
max_seconds_option = click.option(
    "--max-seconds",
    type=click.FloatRange(0),
    default=None,
    help="Refuse to submit more than this many seconds of video.",
)
yes_option = click.option(
    "-y", "--yes", is_flag=True, help="Do not ask before paying (asked only on a terminal)."
)
outcome_json_option = click.option(
    "--json", "as_json", is_flag=True, help="The outcome as one JSON document on stdout."
)


def echo_err(text: str = "", **kw: Any) -> None:
    click.echo(text, err=True, **kw)


def echo_output(output: Output) -> None:
    """A reporter's lines: the result on stdout, then the words for people on stderr."""
    for line in output.stdout:
        click.echo(line)
    for line in output.stderr:
        echo_err(line)
