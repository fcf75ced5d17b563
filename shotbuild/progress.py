"""What a build shows people, on stderr: a live per-shot view on a terminal,
plain lines otherwise (CI logs), and a final summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

from shotbuild.untrusted import terminal_safe

if TYPE_CHECKING:
    from shotbuild.build import BuildResult

# The states a shot goes through, in order.
QUEUED = "queued"
UPLOADING = "uploading"
SUBMITTED = "submitted"
RENDERING = "rendering"
DOWNLOADING = "downloading"
DONE = "done"
RESTORED = "restored"
FAILED = "failed"
REMOVED = "removed"
FINAL = (DONE, RESTORED, FAILED, REMOVED)


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
        print(terminal_safe(text), file=self.stream, flush=True)  # text from outside too

    def shot(self, name: str, state: str, detail: str = "") -> None:
        if (self.quiet and state != FAILED) or (state == QUEUED and not self.verbose):
            return
        if self._last.get(name) == state and not self.verbose:
            return  # progress ticks (bytes, elapsed) only in -v or on a terminal
        self._last[name] = state
        self._print(f"{name}: {state}" + (f" ({detail})" if detail else ""))

    def message(self, text: str) -> None:
        if not self.quiet:
            self._print(text)

    def summary(self, result: BuildResult) -> None:
        for line in summary_lines(result):
            self._print(line)

    def close(self) -> None:
        pass


class LiveReporter(LineReporter):
    """On a terminal: finished shots scroll by as permanent lines; below them a
    redrawn block of the shots in progress (with elapsed time) and a count of
    those still queued, so a 1,000-shot build stays readable."""

    def __init__(
        self, stream: TextIO | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(stream)
        self.clock = clock
        self._rows: dict[str, tuple[str, str, float]] = {}
        self._drawn = 0

    def shot(self, name: str, state: str, detail: str = "") -> None:
        if state in FINAL:
            self._rows.pop(name, None)
            self._clear()
            self._print(f"{name}: {state}" + (f" ({detail})" if detail else ""))
            self._redraw()
            return
        since = self._rows[name][2] if name in self._rows and self._rows[name][0] == state else None
        self._rows[name] = (state, detail, since if since is not None else self.clock())
        self._redraw()

    def message(self, text: str) -> None:
        self._clear()
        self._print(text)
        self._redraw()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _redraw(self) -> None:
        self._clear()
        active = {n: row for n, row in self._rows.items() if row[0] != QUEUED}
        width = max((len(n) for n in active), default=0)
        now = self.clock()
        lines = []
        for name, (state, detail, since) in active.items():
            extra = f" {detail}" if detail else ""
            if state in (RENDERING, SUBMITTED):
                extra += f" {now - since:.0f}s"
            lines.append(f"{name:<{width}}  {state}{extra}")
        queued = len(self._rows) - len(active)
        if queued:
            lines.append(f"({queued} queued)")
        for line in lines:
            self.stream.write(terminal_safe(line) + "\n")
        self._drawn = len(lines)
        self.stream.flush()

    def summary(self, result: BuildResult) -> None:
        self._drawn = 0
        super().summary(result)


def summary_lines(result: BuildResult) -> list[str]:
    lines = [f"{name}: failed: {message}" for name, message in result.failed]
    parts = [
        f"{len(result.built)} built",
        f"{len(result.restored)} restored",
        f"{len(result.up_to_date)} up to date",
        f"{len(result.failed)} failed",
    ]
    if result.removed:
        parts.append(f"{len(result.removed)} removed")
    if result.skipped:
        parts.append(f"{len(result.skipped)} not started (after a failure; -k goes on)")
    paid = "seconds of video paid for" if result.paid else "seconds of preview rendered"
    lines.append(f"shotbuild: {', '.join(parts)}; {result.seconds:g} {paid}")
    return lines


def reporter_for(
    stream: TextIO | None = None, *, quiet: bool = False, verbose: bool = False
) -> Reporter:
    stream = stream or sys.stderr
    if not quiet and not verbose and stream.isatty():
        return LiveReporter(stream)
    return LineReporter(stream, quiet=quiet, verbose=verbose)
