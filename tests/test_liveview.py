"""The live build view: its rows as rendered text, and the screen a person sees in
a real pseudo-terminal (tmux) at 30 and 200 columns with a 65-character shot name."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from rich.console import Console

from shotbuild.liveview import RichReporter
from shotbuild.progress import LineReporter, reporter_for

LONG = "a-very-long-shot-name-that-goes-on-and-on-" + "x" * 23  # 65 characters


def screen_of(reporter: RichReporter, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(reporter)
    return console.export_text()


def test_rows_show_state_detail_elapsed_and_queued_count() -> None:
    now = [100.0]
    reporter = RichReporter(io.StringIO(), clock=lambda: now[0], width=80)
    reporter.shot("intro", "rendering", "vid_1")
    reporter.shot("walk", "queued")
    now[0] = 142.0
    reporter.shot("intro", "rendering", "vid_1")
    text = screen_of(reporter, 80)
    assert "intro  rendering vid_1 42s" in text
    assert "(1 queued)" in text
    assert "0/2" in text
    reporter.shot("intro", "done")
    text = screen_of(reporter, 80)
    assert "intro" not in text and "1/2" in text
    reporter.close()


def test_rows_never_wrap_at_a_narrow_width() -> None:
    reporter = RichReporter(io.StringIO(), width=30)
    reporter.shot(LONG, "rendering", "vid_1")
    lines = screen_of(reporter, 30).splitlines()
    assert all(len(line) <= 30 for line in lines)
    assert sum(LONG[:8] in line for line in lines) == 1  # one row, cut with an ellipsis
    reporter.close()


def test_control_characters_from_outside_never_reach_the_terminal() -> None:
    out = io.StringIO()
    reporter = RichReporter(out, width=80)
    reporter.shot("a", "failed", "boom\x1b]0;pwned\x07\r9 built")
    reporter.close()
    assert "\x1b]0" not in out.getvalue() and "\x07" not in out.getvalue()


@pytest.mark.parametrize(("term", "kind"), [("dumb", LineReporter), ("", LineReporter)])
def test_dumb_or_unset_term_gets_plain_lines(
    monkeypatch: pytest.MonkeyPatch, term: str, kind: type
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", term)
    assert isinstance(reporter_for(Tty()), kind)


def test_a_terminal_gets_the_live_view(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(reporter_for(Tty()), RichReporter)


DRIVER = textwrap.dedent(
    """
    import sys, time
    from shotbuild.progress import reporter_for
    r = reporter_for()
    long = sys.argv[1]
    r.shot("intro", "done")
    r.shot(long, "rendering", "vid_1")
    r.shot("walk", "queued")
    r.shot("desk", "downloading", "12 MB")
    time.sleep(30)
    """
)


@pytest.fixture
def tmux() -> object:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    socket = f"shotbuild-test-{uuid.uuid4().hex[:8]}"
    yield socket
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def capture(socket: str, want: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["tmux", "-L", socket, "capture-pane", "-p", "-t", "view"],
            capture_output=True,
            text=True,
            check=False,
        )
        screen = out.stdout
        if want in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{want!r} never appeared on the screen:\n{screen}")


@pytest.mark.parametrize("columns", [30, 200])
def test_real_terminal_screen(tmux: str, tmp_path: Path, columns: int) -> None:
    script = tmp_path / "drive.py"
    script.write_text(DRIVER, encoding="utf-8")
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("NO_COLOR", None)
    command = f"{sys.executable} {script} {LONG} 2>&1"
    subprocess.run(
        [
            "tmux",
            "-L",
            tmux,
            "new-session",
            "-d",
            "-s",
            "view",
            "-x",
            str(columns),
            "-y",
            "20",
            "-e",
            f"PYTHONPATH={env['PYTHONPATH']}",
            "-e",
            "TERM=xterm-256color",
            command,
        ],
        check=True,
        env=env,
    )
    screen = capture(tmux, "1/4")
    lines = [line for line in screen.splitlines() if line.strip()]
    assert all(len(line) <= columns for line in lines)
    assert any(line.startswith("intro: done") for line in lines)
    rows = [line for line in lines if LONG[:10] in line]
    assert len(rows) == 1, screen  # one row, never fragments of a wrapped name
    if columns >= 200:
        assert LONG in rows[0] and "rendering vid_1" in rows[0]
    else:
        assert LONG not in rows[0] and "…" in rows[0]
    assert "(1 queued)" in screen and "eta" in screen


def test_plain_lines_never_import_rich() -> None:
    code = (
        "import io, sys\n"
        "from shotbuild.progress import reporter_for\n"
        "reporter_for(io.StringIO()).shot('a', 'done')\n"
        "assert 'rich' not in sys.modules, 'rich was imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
