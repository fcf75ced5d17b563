"""shotbuild's log lines (retries, a server that does not answer) on stderr as
`shotbuild: ...`: warnings always, every retry with -v/--verbose. No click here:
a plain build's early path (shotbuild.commands.plain) sets this up too."""

from __future__ import annotations

import logging
import sys

TYPE_CHECKING = False  # typing is not imported on a plain build's path
if TYPE_CHECKING:
    from collections.abc import Sequence


def log_to_stderr(argv: Sequence[str] | None) -> None:
    logger = logging.getLogger("shotbuild")
    args = list(sys.argv[1:] if argv is None else argv)
    logger.setLevel(logging.INFO if {"-v", "--verbose"} & set(args) else logging.WARNING)
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        logger.addHandler(StderrHandler())


class StderrHandler(logging.Handler):
    """Writes to sys.stderr as it is at each line, redacted and safe for a terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        from shotbuild.untrusted import redact, terminal_safe

        text = terminal_safe(redact(f"shotbuild: {record.getMessage()}"))
        sys.stderr.write(text + "\n")
