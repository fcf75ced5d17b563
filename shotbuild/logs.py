"""shotbuild's loggers, and where the command line sends their lines: stderr, as
`shotbuild: ...` (redacted, safe for a terminal), warnings always, every retry with
-v/--verbose (shotbuild.loghandler).

`logging` is imported only by a module that logs (a no-op build imports none): the
command line says where the lines go (`to_stderr`) before anything logs, and the
handler is installed then if logging is loaded, else when the first logger is made
(every module that logs gets its logger from `logger`)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported on a plain build's path
if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence

_VERBOSE: list[bool] = []  # [-v/--verbose given] once the command line has said


def to_stderr(argv: Sequence[str] | None) -> None:
    """The command line's: shotbuild's log lines go to stderr from now on."""
    args = list(sys.argv[1:] if argv is None else argv)
    _VERBOSE[:] = [bool({"-v", "--verbose"} & set(args))]
    if "logging" in sys.modules:
        _install()


def logger(name: str) -> logging.Logger:
    """The logger `name` (below "shotbuild"), its lines sent where the command line said."""
    import logging

    if _VERBOSE:
        _install()
    return logging.getLogger(name)


def _install() -> None:
    from shotbuild.loghandler import install

    install(verbose=_VERBOSE[0])
