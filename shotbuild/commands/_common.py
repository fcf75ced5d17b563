"""What several commands share: finding the spec and naming the backend."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shotbuild.errors import ShotbuildError
from shotbuild.spec.model import Spec

if TYPE_CHECKING:
    from shotbuild.report.base import Output  # the report package: not for a build


def load(path: Path | None) -> Spec:
    """The spec at `path`, else shots.yaml in the current folder."""
    from shotbuild.spec import load_spec

    path = path if path is not None else Path("shots.yaml")
    if not path.is_file():
        where = (
            "no shots.yaml in this folder"
            if path == Path("shots.yaml")
            else f"{path}: no such file"
        )
        raise ShotbuildError(
            f"{where}; give the spec's path, e.g. `shotbuild build examples/launch/shots.yaml`"
        )
    spec = load_spec(path.resolve())
    # The spec lives as long as the command: keep the cyclic collector from walking
    # its (acyclic) objects again and again while the plan is made (bench/run.py,
    # no-op growth: 10,000 shots were super-linear without this).
    gc.freeze()
    return spec


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
