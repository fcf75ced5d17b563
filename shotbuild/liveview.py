"""The live build view on a terminal, drawn with rich.

rich is imported only here, and this module only when a build with work starts
on a terminal, so validate, plan and a no-op build never pay for it. Rows are cut
to the terminal's width (never wrapped), colour follows the state, NO_COLOR is
honoured by rich itself, and finished shots scroll by above the live block as
permanent lines."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from shotbuild.progress import FAILED, FINAL, QUEUED, RENDERING, SUBMITTED, summary_lines
from shotbuild.untrusted import printable

if TYPE_CHECKING:
    from rich.live import Live

    from shotbuild.build import BuildResult

MAX_ROWS = 12  # shots in progress shown at once; the rest are counted
_STYLE = {
    "uploading": "cyan",
    "submitted": "blue",
    "rendering": "yellow",
    "downloading": "cyan",
    "done": "green",
    "restored": "green",
    "failed": "bold red",
    "removed": "magenta",
}


class RichReporter:
    """Per-shot rows for the shots in progress, an overall bar with n/N, elapsed
    time and ETA, and one permanent line per finished shot."""

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ) -> None:
        self.clock = clock
        self.console = Console(file=stream, width=width, highlight=False, soft_wrap=False)
        self._rows: dict[str, tuple[str, str, float]] = {}
        self._finished: set[str] = set()
        self._progress = Progress(
            TextColumn("[bold]build"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            expand=True,
        )
        self._task = self._progress.add_task("build", total=0)
        self._live: Live | None = None

    def _start(self) -> Live:
        if self._live is None:
            from rich.live import Live

            self._live = Live(
                self,
                console=self.console,
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,
            )
            self._live.start()
        return self._live

    def shot(self, name: str, state: str, detail: str = "") -> None:
        live = self._start()
        if state in FINAL:
            self._rows.pop(name, None)
            self._finished.add(name)
            live.console.print(_line(name, state, detail), overflow="fold")  # kept: may wrap
        else:
            known = self._rows.get(name)
            since = known[2] if known is not None and known[0] == state else self.clock()
            self._rows[name] = (state, detail, since)
        total = len(self._finished) + len(self._rows)
        self._progress.update(self._task, total=total, completed=len(self._finished))
        live.refresh()

    def message(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(Text(printable(text)), overflow="fold")
        else:
            self.console.print(Text(printable(text)), overflow="fold")

    def __rich__(self) -> Group:
        return Group(self._table(), self._notes(), self._progress)

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2), expand=False)
        table.add_column(
            no_wrap=True, overflow="ellipsis", max_width=max(8, self.console.width // 2)
        )
        table.add_column(no_wrap=True, overflow="ellipsis")
        active = [(n, row) for n, row in self._rows.items() if row[0] != QUEUED]
        now = self.clock()
        for name, (state, detail, since) in active[:MAX_ROWS]:
            extra = f" {detail}" if detail else ""
            if state in (RENDERING, SUBMITTED):
                extra += f" {now - since:.0f}s"
            row = Text(printable(state + extra), style=_STYLE.get(state, ""))
            table.add_row(Text(printable(name)), row)
        return table

    def _notes(self) -> Text:
        active = sum(row[0] != QUEUED for row in self._rows.values())
        hidden = active - MAX_ROWS
        queued = len(self._rows) - active
        notes = [f"{hidden} more in progress"] if hidden > 0 else []
        notes += [f"{queued} queued"] if queued else []
        return Text(f"({', '.join(notes)})" if notes else "", style="dim", no_wrap=True)

    def summary(self, result: BuildResult) -> None:
        self.close()
        for line in summary_lines(result):
            style = "bold red" if result.failed else "bold"
            self.console.print(Text(line, style=style), overflow="fold")

    def close(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()


def _line(name: str, state: str, detail: str) -> Text:
    line = Text(printable(name))
    line.append(": ")
    line.append(state, style=_STYLE.get(state, ""))
    if detail:
        style = "red" if state == FAILED else ""
        line.append(f" ({printable(detail)})", style=style)
    return line
