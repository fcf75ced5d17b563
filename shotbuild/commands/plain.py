"""A plain `shotbuild build` (the arguments shotbuild.noop reads: a spec, -q, -v,
-k, -y, -j N, --backend) whose no-op record did not answer, run without click: the
same build, output and exit code as the click command, without importing click
and the command group (a no-op build's fixed cost). Errors go to the handler of
shotbuild.commands.root, which says them as it says every other command's."""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported on a plain build's path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TextIO

    from shotbuild.noop import _Args


def run(argv: Sequence[str]) -> int | None:
    """The exit code of the plain build `argv` asks for; None when it is not one
    (or click would refuse its spec argument): the click group runs it."""
    from shotbuild.noop import plain_args

    args = plain_args(argv)
    if args is None or not _click_takes(args.spec) or os.environ.get("_SHOTBUILD_COMPLETE"):
        return None
    from shotbuild import logs

    logs.to_stderr(argv)
    try:
        return _as_click_would(args)
    except (Exception, KeyboardInterrupt) as e:
        from shotbuild.commands import root  # click, only to say an error

        return root.exit_code_for(e, argv)


def _click_takes(spec: str | None) -> bool:
    """Whether click.Path(dir_okay=False) takes the spec argument as it is."""
    if spec is None:
        return True
    try:
        st = os.stat(spec)
    except OSError:
        return True  # it need not exist (the build says so)
    return not stat.S_ISDIR(st.st_mode) and os.access(spec, os.R_OK)


def _as_click_would(args: _Args) -> int:
    """The build, with what click's Command.main does around a command (in
    standalone_mode=False): Ctrl-C says a blank line first, a closed pipe exits 1."""
    from shotbuild.commands.buildrun import build_command

    try:
        return build_command(
            Path(args.spec) if args.spec is not None else None,
            jobs=args.jobs,
            keep_going=args.keep_going,
            yes=args.yes,
            backend=args.backend,
            quiet=args.quiet,
            verbose=args.verbose,
        )
    except (EOFError, KeyboardInterrupt) as e:
        import click

        click.echo(file=sys.stderr)
        raise click.exceptions.Abort() from e
    except OSError as e:
        if e.errno != errno.EPIPE:
            raise
        sys.stdout = _PacifyFlush(sys.stdout)
        sys.stderr = _PacifyFlush(sys.stderr)
        sys.exit(1)


class _PacifyFlush:
    """click's wrapper of a closed pipe (its private utils._PacifyFlushWrapper):
    the flush at exit says nothing of the broken pipe."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)
