"""`shotbuild review`: serve the review page on 127.0.0.1, or write it as files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from shotbuild.commands._common import echo_err, folder_option, load, spec_argument
from shotbuild.errors import ShotbuildError

if TYPE_CHECKING:
    from shotbuild.review.model import Project


@click.command("review")
@spec_argument
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port on 127.0.0.1 (default: a free one).",
)
@click.option("--no-open", is_flag=True, help="Print the URL; do not open a browser.")
@click.option(
    "--watch",
    is_flag=True,
    help="Also render the previews of changed shots again in the background"
    " (the offline preview backend: never a paid render).",
)
@folder_option(
    "--static",
    "static_dir",
    help="Write the page as self-contained files into this folder (opens from disk; no picking).",
)
def cli(spec: Path | None, port: int, no_open: bool, watch: bool, static_dir: Path | None) -> int:
    """Watch every shot, compare takes and pick, in the browser. Serves on
    127.0.0.1 with a random token in the URL it prints; runs until Ctrl-C."""
    from shotbuild.review import require_extra
    from shotbuild.review.model import Project

    require_extra()
    project = Project(load(spec).path, watch=watch)
    if static_dir is not None:
        return _static(project, static_dir)
    return _serve(project, port, open_browser=not no_open)


def _static(project: Project, out: Path) -> int:
    from shotbuild.review.export import export

    done = export(project, out)
    echo_err(f"shotbuild review: wrote {done.index} ({done.videos} videos); open it from disk")
    click.echo(done.index.resolve().as_uri())
    return 0


def _serve(project: Project, port: int, *, open_browser: bool) -> int:
    from shotbuild.review.server import bind, make_server, new_token, served

    token = new_token()
    try:
        sock = bind(port)
    except OSError as e:
        raise ShotbuildError(
            f"cannot listen on 127.0.0.1:{port} ({e.strerror}): choose another --port"
        ) from e
    where = served(sock, token)
    click.echo(where.url)
    echo_err(f"shotbuild review: {project.spec_path.name} at {where.url} (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        webbrowser.open(where.url)
    with sock:
        make_server(project, token).run(sockets=[sock])
    return 0
