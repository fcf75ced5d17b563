"""What a build shows people, on stderr: a live per-shot view on a terminal
(shotbuild.liveview), plain lines otherwise (CI logs), and a final summary."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, TextIO

from shotbuild.untrusted import printable

if TYPE_CHECKING:
    from shotbuild.build import BuildResult

from shotbuild.status import FINAL, Progress

# The states a shot goes through, in order (defined once, in shotbuild.status).
QUEUED = Progress.QUEUED
UPLOADING = Progress.UPLOADING
SUBMITTED = Progress.SUBMITTED
RENDERING = Progress.RENDERING
DOWNLOADING = Progress.DOWNLOADING
DONE = Progress.DONE
RESTORED = Progress.RESTORED
FAILED = Progress.FAILED
REMOVED = Progress.REMOVED
__all__ = ["FINAL", "Progress", "Reporter"]


class Reporter(Protocol):
    def shot(self, name: str, state: str, detail: str = "") -> None: ...

    def message(self, text: str) -> None: ...

    def summary(self, result: BuildResult) -> None: ...

    def close(self) -> None: ...


class NullReporter:
    def shot(self, name: str, state: str, detail: str = "") -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def summary(self, result: BuildResult) -> None:
        pass

    def close(self) -> None:
        pass


class LineReporter:
    """One line per change of state (CI logs); -q keeps only failures and the summary."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False, verbose: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self._last: dict[str, str] = {}

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def shot(self, name: str, state: str, detail: str = "") -> None:
        if (self.quiet and state != FAILED) or (state == QUEUED and not self.verbose):
            return
        if self._last.get(name) == state and not self.verbose:
            return  # progress ticks (bytes, elapsed) only in -v or on a terminal
        self._last[name] = state
        if state == DOWNLOADING and not self.verbose:
            detail = ""  # the first tick is a chunk, not the size: counts only in -v
        self._print(f"{name}: {state}" + (f" ({printable(detail)})" if detail else ""))

    def message(self, text: str) -> None:
        if not self.quiet:
            self._print(text)

    def summary(self, result: BuildResult) -> None:
        for line in summary_lines(result):
            self._print(line)

    def close(self) -> None:
        pass


def summary_lines(result: BuildResult) -> list[str]:
    """The closing line. Each failure was shown with its message as it happened;
    here only their names, so no message is printed twice."""
    parts = [
        f"{len(result.built)} built" + _takes(result),
        f"{len(result.restored)} restored",
        f"{len(result.up_to_date)} up to date",
        f"{len(result.failed)} failed" + _names(name for name, _ in result.failed),
    ]
    if result.removed:
        parts.append(f"{len(result.removed)} removed")
    if result.skipped:
        parts.append(f"{len(result.skipped)} not started (after a failure; -k goes on)")
    if result.takes_written or result.takes_removed:
        parts.append(
            f"take files: {len(result.takes_written)} written, {len(result.takes_removed)} removed"
        )
    if not result.paid:
        return [f"shotbuild: {', '.join(parts)}; {result.seconds:g} seconds of preview rendered"]
    return [f"shotbuild: {', '.join(parts)}; {result.seconds:g} seconds of video; {_paid(result)}"]


def _takes(result: BuildResult) -> str:
    """The " (4 takes)" beside the shots built when they are not one render each (a shot's
    other takes, `takes: N`, were rendered too); "" otherwise, so a build of shots
    without takes says what it always has."""
    n = result.built_takes
    if n <= len(result.built):
        return ""
    return f" ({n} take{'s' if n != 1 else ''})"


def _paid(result: BuildResult) -> str:
    """What this run paid: the jobs it created (resumed ones were paid by an earlier run)."""
    from shotbuild.money import paid_line

    if result.paid_cost is not None:
        return paid_line(result.paid_renders, result.paid_cost)
    n = result.paid_renders
    return f"paid this run: {n} render{'s' if n != 1 else ''} (price unknown)"


def _names(names: Iterable[str], most: int = 5) -> str:
    shown = list(names)
    if not shown:
        return ""
    more = f", {len(shown) - most} more" if len(shown) > most else ""
    return f" ({', '.join(printable(n) for n in shown[:most])}{more})"


def reporter_for(
    stream: TextIO | None = None, *, quiet: bool = False, verbose: bool = False
) -> Reporter:
    """The live view (rich) on a terminal, plain lines in CI, with -q/-v, or TERM=dumb."""
    stream = stream or sys.stderr
    if not quiet and not verbose and _live_terminal(stream):
        from shotbuild.liveview import RichReporter

        return RichReporter(stream)
    return LineReporter(stream, quiet=quiet, verbose=verbose)


def _live_terminal(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM", "") not in ("dumb", "")
