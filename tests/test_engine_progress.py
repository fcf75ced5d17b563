"""What a build shows people: plain lines for logs, a redrawn view on a terminal."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from engine_fakes import make_shot, make_spec

from shotbuild.build import BuildResult
from shotbuild.money import Money
from shotbuild.plan import Plan
from shotbuild.progress import LineReporter, summary_lines


def result(tmp_path: Path) -> BuildResult:
    spec = make_spec(tmp_path, make_shot("a"))
    plan = Plan(spec, "heygen", (), {}, tmp_path / "build", {})
    done = BuildResult(plan, paid=True, paid_cost=Money(Decimal("7")))
    done.built, done.seconds, done.paid_renders = ["a"], 10, 1
    done.failed = [("b", "render vid_2 failed: moderation_failed")]
    return done


def test_plain_lines_once_per_state_and_a_summary(tmp_path: Path) -> None:
    out = io.StringIO()
    reporter = LineReporter(out)
    reporter.shot("a", "downloading", "10 bytes")
    reporter.shot("a", "downloading", "20 bytes")
    reporter.shot("a", "done")
    reporter.summary(result(tmp_path))
    assert out.getvalue().splitlines() == [
        "a: downloading",
        "a: done",
        "shotbuild: 1 built, 0 restored, 0 up to date, 1 failed (b); 10 seconds of video;"
        " paid this run: 1 render, $7.00",
    ]


def test_quiet_shows_only_failures(tmp_path: Path) -> None:
    out = io.StringIO()
    reporter = LineReporter(out, quiet=True)
    reporter.shot("a", "done")
    reporter.shot("b", "failed", "why")
    assert out.getvalue() == "b: failed (why)\n"


def test_summary_for_previews_says_rendered_not_paid(tmp_path: Path) -> None:
    r = result(tmp_path)
    r.paid = False
    assert summary_lines(r)[-1].endswith("10 seconds of preview rendered")


def test_a_failure_message_is_printed_once(tmp_path: Path) -> None:
    out = io.StringIO()
    reporter = LineReporter(out)
    reporter.shot("b", "failed", "render vid_2 failed: moderation_failed")
    reporter.summary(result(tmp_path))
    assert out.getvalue().count("moderation_failed") == 1


def test_verbose_plain_lines_show_the_download_ticks() -> None:
    out = io.StringIO()
    reporter = LineReporter(out, verbose=True)
    reporter.shot("a", "downloading", "10 bytes")
    reporter.shot("a", "downloading", "20 bytes")
    assert out.getvalue().splitlines() == ["a: downloading (10 bytes)", "a: downloading (20 bytes)"]
