"""The handler that writes shotbuild's log lines on stderr (see shotbuild.logs)."""

from __future__ import annotations

import logging
import sys

from shotbuild.untrusted import redact, terminal_safe


def install(*, verbose: bool) -> None:
    """shotbuild's lines on stderr: warnings, and with `verbose` every retry."""
    logger = logging.getLogger("shotbuild")
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        logger.addHandler(StderrHandler())


class StderrHandler(logging.Handler):
    """Writes to sys.stderr as it is at each line, redacted and safe for a terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        text = terminal_safe(redact(f"shotbuild: {record.getMessage()}"))
        sys.stderr.write(text + "\n")
