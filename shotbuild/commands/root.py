"""The click group whose subcommands are imported only when run, so `shotbuild
validate` never pays for httpx, and one handler that maps errors to exit codes
(known error: one line, 1; usage: 2; bug: 3 plus a log; Ctrl-C: 130). The entry
point, `shotbuild.cli.main`, comes here after the no-op fast path."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence

import click

from shotbuild import __version__, logs
from shotbuild.cli import COMMANDS, INTERRUPTED
from shotbuild.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, ShotbuildError
from shotbuild.untrusted import redact, terminal_safe


def _module(name: str) -> str:
    return f"shotbuild.commands.{COMMANDS[name]}"


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if importlib.util.find_spec(_module(n)) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or importlib.util.find_spec(_module(cmd_name)) is None:
            return None
        command = importlib.import_module(_module(cmd_name)).cli
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="shotbuild")
def cli() -> None:
    """make for HeyGen Avatar Shots: turn shots.yaml into rendered videos,
    paying for each shot once."""


def _wants_json(argv: Sequence[str] | None) -> bool:
    args = list(sys.argv[1:] if argv is None else argv)
    return (
        "--json" in args
        or any(a == "json" and b in ("--format", "-f") for b, a in itertools.pairwise(args))
        or "--format=json" in args
    )


def run(argv: Sequence[str] | None = None, group: click.Command | None = None) -> int:
    """Run the CLI (`group`, default the shotbuild group) and return its exit code."""
    logs.to_stderr(argv)
    try:
        result = (group or cli).main(
            args=list(argv) if argv is not None else None,
            prog_name="shotbuild",
            standalone_mode=False,
        )
    except (Exception, KeyboardInterrupt) as e:
        return exit_code_for(e, argv)
    return result if isinstance(result, int) else EXIT_OK


def exit_code_for(error: Exception | KeyboardInterrupt, argv: Sequence[str] | None) -> int:
    """The exit code of a command that raised `error`, which is said on stderr
    (called while it is handled: a bug's traceback goes to a crash log)."""
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code
    if isinstance(error, click.ClickException):
        error.show()
        return error.exit_code
    if isinstance(error, click.exceptions.Abort | KeyboardInterrupt):
        click.echo(INTERRUPTED, err=True)
        return EXIT_INTERRUPTED
    if isinstance(error, ShotbuildError):
        message = terminal_safe(redact(str(error)))
        for line in message.splitlines() or [""]:  # each says where
            click.echo(f"shotbuild: error: {line}", err=True)
        if _wants_json(argv):  # --json promises one document on stdout, also on failure
            click.echo(json.dumps({"format_version": 1, "error": redact(str(error))}, indent=2))
        return error.exit_code
    if isinstance(error, BrokenPipeError):
        return EXIT_OK
    log = _write_crash_log()
    where = f"; the traceback is in {log}" if log else ""
    click.echo(f"shotbuild: internal error (a bug in shotbuild){where}; please report it", err=True)
    return EXIT_INTERNAL


def _write_crash_log() -> str | None:
    from shotbuild.paths import cache_dir

    try:
        folder = cache_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        # the pid and a counter keep two crashes in one second from sharing a file
        stamp = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        for n in range(1000):
            path = folder / (f"{stamp}.log" if n == 0 else f"{stamp}-{n}.log")
            try:
                with path.open("x", encoding="utf-8") as f:
                    f.write(redact(traceback.format_exc()))
                return str(path)
            except FileExistsError:
                continue
        return None
    except OSError:
        return None
