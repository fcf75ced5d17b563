"""A plain `shotbuild build` whose no-op record does not answer runs without click
(shotbuild.commands.plain): the same output, to the byte, and the same exit code as
the click command for the same arguments, errors included; and a no-op build that
way imports nothing it does not need (click, logging, the network, uuid, tempfile)."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_fakes import BASE_URL, FakeHeyGen, heygen_backend, no_sleep

from shotbuild import cli, noop
from shotbuild.build import build
from shotbuild.commands import buildrun, loading, plain, root
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache

SPEC = """\
version: 1
defaults:
  avatar_id: [look_founder]
shots:
  intro:
    prompt: A founder walks through a sunlit office.
    duration: 6
  demo:
    prompt: The founder demos the product.
"""
ROOT = str(Path(noop.__file__).parent.parent)


@pytest.fixture
def built(chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """shots.yaml, built once against the fake API: a build now has nothing to do."""
    monkeypatch.setenv("HEYGEN_BASE_URL", BASE_URL)
    spec = chdir_tmp / "shots.yaml"
    spec.write_text(SPEC)
    with Cache() as cache:
        done = build(
            load_spec(spec), heygen_backend(FakeHeyGen(), cache), cache=cache, sleep=no_sleep
        )
    assert done.exit_code == 0 and done.built
    return spec


def both_ways(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, stdout, stderr) of `argv` the early way, then by the click group;
    no record answers either (each run's record is removed first)."""
    outcomes = []
    for group in (None, root.cli):
        noop.forget_all()
        capsys.readouterr()
        with monkeypatch.context() as m:
            if group is None:  # the early way must not reach the click group
                m.setattr(root, "run", lambda *a: pytest.fail("the click group ran"))
            else:
                m.setattr(cli, "cli", group, raising=False)  # as a test's own command
            code = cli.main(argv)
        out, err = capsys.readouterr()
        outcomes.append((code, out, err))
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["build"],
        ["build", "-q"],
        ["build", "-v", "shots.yaml"],
        ["build", "-k", "-y", "-j", "8", "--quiet"],
        ["build", "--jobs=2", "--backend=heygen", "--verbose", "--keep-going", "--yes"],
        ["build", "-j", "3", "-j", "64", "-q"],
    ],
)
def test_a_no_op_build_says_the_same_both_ways(
    built: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    early, by_click = both_ways(capsys, monkeypatch, argv)
    assert early == by_click
    assert early[0] == 0 and "2 up to date" in early[2]


def test_the_early_way_passes_every_option_it_reads(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []
    monkeypatch.setattr(buildrun, "build_command", lambda spec, **kw: seen.append(kw) or 0)
    argv = ["build", "-k", "-y", "-j", "9", "--backend", "preview", "-v", "-q", "x.yaml"]
    assert plain.run(argv) == 0
    assert seen == [
        {
            "jobs": 9,
            "keep_going": True,
            "yes": True,
            "backend": "preview",
            "quiet": True,
            "verbose": True,
        }
    ]


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


@pytest.mark.parametrize(
    ("argv", "setup"),
    [
        (["build", "-q", "missing.yaml"], lambda f: None),
        (["build", "-q"], lambda f: (f / "shots.yaml").unlink()),
        (["build"], lambda f: write(f, "shots.yaml", "version: 1\nshots: [\n")),
        (["build", "-q"], lambda f: write(f, "shots.yaml", "version: 1\nshots:\n  a: {}\n")),
        (["build", "-q"], lambda f: write(f, "shots.yaml", SPEC.replace("demos", "shows"))),
    ],
)
def test_an_error_says_the_same_both_ways(
    built: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    setup: Callable[[Path], object],
) -> None:
    setup(built.parent)  # (the last: a changed shot wants a render, with no API key)
    early, by_click = both_ways(capsys, monkeypatch, argv)
    assert early == by_click
    code, out, err = early
    assert code == 1 and out == ""
    assert err.startswith("shotbuild: error: ") and "Traceback" not in err
    assert all(line.startswith("shotbuild: ") for line in err.splitlines())


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (KeyboardInterrupt(), 130),
        (RuntimeError("a bug"), 3),
        (BrokenPipeError(), 0),  # (no errno: click leaves it to shotbuild's handler)
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), None),
    ],
)
def test_ctrl_c_a_bug_and_a_closed_pipe_end_the_same_both_ways(
    built: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    raised: BaseException,
    code: int | None,
) -> None:
    def fail(path: object) -> None:
        raise raised

    monkeypatch.setattr(loading, "load", fail)
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # a closed pipe replaces them
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    if code is None:  # click's Command.main exits 1, its streams quiet about the pipe
        for group in (None, root.cli):
            with monkeypatch.context() as m:
                if group is not None:
                    m.setattr(cli, "cli", group, raising=False)
                with pytest.raises(SystemExit) as exited:
                    cli.main(["build", "-q"])
                assert exited.value.code == 1
                assert "PacifyFlush" in type(sys.stderr).__name__  # click 8.1: no underscore
                sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        return
    early, by_click = both_ways(capsys, monkeypatch, ["build", "-q"])
    crash_log = re.compile(r"crash-[0-9-]+(-\d+)?\.log")
    assert early[0] == by_click[0] == code
    assert crash_log.sub("LOG", early[2]) == crash_log.sub("LOG", by_click[2])
    assert early[2].count("\n") == {130: 2, 3: 1, 0: 0}[code]  # Ctrl-C: a blank line first


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "-j", "²"],  # a digit int() does not read
        ["build", "-j", "0"],
        ["build", "-j"],
        ["build", "-qk"],
        ["build", "--dry-run"],
        ["build", "--backend", "nope"],
        ["build", "a.yaml", "b.yaml"],
        ["build", "--", "a.yaml"],
        ["plan"],
        [],
    ],
)
def test_anything_but_a_plain_build_is_left_to_click(chdir_tmp: Path, argv: list[str]) -> None:
    assert noop.plain_args(argv) is None
    assert plain.run(argv) is None


def test_a_spec_click_refuses_is_left_to_click(chdir_tmp: Path) -> None:
    (chdir_tmp / "folder").mkdir()
    assert plain.run(["build", "folder"]) is None  # click: "... is a directory", exit 2
    assert cli.main(["build", "folder"]) == 2


def test_a_no_op_build_without_its_record_imports_only_what_it_needs(built: Path) -> None:
    """Laziness a later import could undo without a word: click, logging, the build
    engine and the rest are imported only when a build has work to do (or an error
    to say)."""
    code = (
        "import sys; from shotbuild.cli import main; rc = main(['build', '-q']);"
        " lazy = ('click', 'logging', 'httpx', 'asyncio', 'uuid', 'tempfile', 'jsonschema',"
        " 'diskcache', 'difflib', 'shotbuild.heygen.client', 'shotbuild.liveview',"
        " 'shotbuild.heygen.drift', 'shotbuild.heygen.errors', 'signal', 'contextvars',"
        " 'shotbuild.build.executor', 'shotbuild.build.jobs', 'shotbuild.build.record',"
        " 'shotbuild.build.held', 'shotbuild.build.restore', 'shotbuild.build.local',"
        " 'shotbuild.build.shared', 'shotbuild.store.records', 'threading', 'dataclasses',"
        " 'inspect');"
        " print(rc, [m for m in lazy if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    for _ in range(2):  # no record yet, then the record's again removed: the plain way
        noop.forget_all()
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=built.parent, env=env, capture_output=True, text=True
        )
        assert done.stdout.strip() == "0 []", done.stderr
        assert done.stderr.startswith("shotbuild: 0 built, 0 restored, 2 up to date")


def test_the_settings_and_money_values_import_no_dataclasses() -> None:
    """The modules a no-op build reads its settings, prices and reasons with import
    nothing of dataclasses (checked alone: the whole path is checked above)."""
    code = (
        "import sys; import shotbuild.settings, shotbuild.money, shotbuild.reasons,"
        " shotbuild.config, shotbuild.status, shotbuild.untrusted, shotbuild.progress;"
        " print('dataclasses' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_log_lines_reach_stderr_when_logging_comes_after_the_command_line() -> None:
    """shotbuild.logs: the command line says where lines go before logging is
    imported; a module that logs, imported later, still says them as `shotbuild: `."""
    code = (
        "import sys; from shotbuild import logs; logs.to_stderr(sys.argv[1:]);"
        " assert 'logging' not in sys.modules; from shotbuild.heygen import retry;"
        " retry.log.warning('a warning'); retry.log.info('a retry')"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    for flag, said in (
        ("-q", "shotbuild: a warning\n"),
        ("-v", "shotbuild: a warning\nshotbuild: a retry\n"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", code, "build", flag], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0 and done.stderr == said, done.stderr


def test_every_logger_comes_from_shotbuild_logs() -> None:
    """A module that made its logger with logging.getLogger would, imported after the
    command line, log with no handler (Python's bare last resort on stderr)."""
    package = Path(ROOT) / "shotbuild"
    direct = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if re.search(r"getLogger\((__name__|[\"']shotbuild)", p.read_text())
        and p.name != "logs.py"
        and p.name != "loghandler.py"
    ]
    assert direct == []
