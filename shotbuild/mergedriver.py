"""`shotbuild merge-lock --install`: set up the shots.lock merge driver in this clone.

Git runs a merge driver through its own shell, often without the virtualenv on the
PATH, so the driver names this very Python by its absolute path
(`'<python>' -m shotbuild merge-lock %O %A %B`) instead of `shotbuild`."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from shotbuild.errors import ShotbuildError

DRIVER = "shotbuild-lock"  # the name the README's "Working in a team" has always used
NAME = "shots.lock merge, shot by shot (shotbuild)"


@dataclass(frozen=True)
class Installed:
    root: Path
    driver: str
    attributes: Path
    added: tuple[str, ...]  # .gitattributes lines written now (none when all were there)


def driver_command(python: str = sys.executable) -> str:
    return f"{shlex.quote(python)} -m shotbuild merge-lock %O %A %B"


def install(patterns: tuple[str, ...] = ("shots.lock",), cwd: Path | None = None) -> Installed:
    """Write merge.shotbuild-lock.* into this clone's git config and add the
    `PATTERN merge=shotbuild-lock` lines missing from the top .gitattributes."""
    root = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    command = driver_command()
    _git(["config", f"merge.{DRIVER}.name", NAME], root)
    _git(["config", f"merge.{DRIVER}.driver", command], root)
    attributes = root / ".gitattributes"
    added = _add_attributes(attributes, [f"{p} merge={DRIVER}" for p in patterns])
    return Installed(root, command, attributes, added)


def _add_attributes(path: Path, lines: list[str]) -> tuple[str, ...]:
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as e:
        raise ShotbuildError(f"{path}: cannot read it ({e}); fix or remove it, then again") from e
    have = {" ".join(line.split()) for line in text.splitlines()}
    missing = tuple(line for line in lines if line not in have)
    if missing:
        sep = "" if not text or text.endswith("\n") else "\n"
        try:
            path.write_text(text + sep + "".join(f"{m}\n" for m in missing), encoding="utf-8")
        except OSError as e:
            raise ShotbuildError(f"{path}: cannot write it ({e})") from e
    return missing


def _git(args: list[str], cwd: Path | None) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ShotbuildError(f"cannot run git ({e}); install git, then run this again") from e
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[:200]
        raise ShotbuildError(
            f"git {args[0]} failed ({said}); run `shotbuild merge-lock --install`"
            " inside the clone whose shots.lock it merges"
        )
    return done.stdout
