"""`shotbuild validate [PATH...]`: check spec files offline, every problem in
every file, as text, JSON or GitHub Actions annotations. Exit 0 when all are
valid, 1 otherwise. Imports nothing that talks to the network."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from shotbuild.spec import Problem, check_file

DEFAULT_SPEC = "shots.yaml"
# Spec files found when a folder is given (any file may be named explicitly).
SPEC_NAMES = ("shots.yaml", "shots.yml")
SPEC_SUFFIXES = (".shots.yaml", ".shots.yml")
SKIP_FOLDERS = frozenset({"node_modules", "__pycache__", "build"})
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checked:
    path: str  # as shown to the user
    problems: list[Problem]


def is_spec_name(name: str) -> bool:
    return name in SPEC_NAMES or name.endswith(SPEC_SUFFIXES)


def spec_files(folder: Path) -> list[Path]:
    """Spec files under `folder`, sorted; hidden folders, build/ and the like skipped."""
    found: list[Path] = []
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in SKIP_FOLDERS)
        found.extend(Path(parent) / f for f in sorted(files) if is_spec_name(f))
    return found


def targets(paths: Sequence[Path]) -> Iterator[Path | Checked]:
    """The files to check, in order, without repeats; a folder with no spec in it
    is a problem of its own."""
    seen: set[Path] = set()
    for path in paths or [Path(DEFAULT_SPEC)]:
        if _is_dir(path):
            inside = spec_files(path)
            if not inside:
                names = ", ".join((*SPEC_NAMES, *(f"*{s}" for s in SPEC_SUFFIXES)))
                message = f"no spec files ({names}) in this folder"
                yield Checked(str(path), [Problem(str(path), 1, 1, message)])
        else:
            inside = [path]
        for file in inside:
            if file not in seen:
                seen.add(file)
                yield file


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a name too long: check_file says what is wrong with it
        return False


def validate(paths: Sequence[Path]) -> list[Checked]:
    results: list[Checked] = []
    for target in targets(paths):
        if isinstance(target, Checked):
            results.append(target)
        else:
            results.append(Checked(str(target), check_file(target)))
    return results


def _problems(results: Iterable[Checked]) -> Iterator[Problem]:
    for result in results:
        yield from result.problems


def report_text(results: list[Checked]) -> None:
    for problem in _problems(results):
        click.echo(str(problem))
    bad = [r for r in results if r.problems]
    count = sum(len(r.problems) for r in bad)
    files = f"{len(results)} file" + ("" if len(results) == 1 else "s")
    if bad:
        noun = "problem" if count == 1 else "problems"
        click.echo(f"{count} {noun} in {len(bad)} of {files}", err=True)
    else:
        click.echo(f"{files} valid", err=True)


def report_json(results: list[Checked]) -> None:
    document = {
        "format_version": FORMAT_VERSION,
        "valid": not any(r.problems for r in results),
        "files": [
            {
                "path": r.path,
                "valid": not r.problems,
                "problems": [
                    {"line": p.line, "col": p.col, "message": p.message} for p in r.problems
                ],
            }
            for r in results
        ],
    }
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _escape(text: str, *, property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


def report_github(results: list[Checked]) -> None:
    """GitHub Actions workflow commands: each problem annotates its line."""
    for p in _problems(results):
        where = f"file={_escape(p.file, property=True)},line={p.line},col={p.col}"
        click.echo(f"::error {where},title=shotbuild validate::{_escape(p.message)}")


REPORTERS = {"text": report_text, "json": report_json, "github": report_github}


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="text: path:line:col: message lines; json: one document; github: annotations.",
)
def cli(paths: tuple[Path, ...], output_format: str) -> int:
    """Check spec files offline and list every problem in every file.

    PATH is a spec file or a folder (searched for shots.yaml, shots.yml,
    *.shots.yaml and *.shots.yml); the default is shots.yaml here.
    Exit status: 0 when every file is valid, 1 otherwise."""
    results = validate(paths)
    REPORTERS[output_format](results)
    return 1 if any(r.problems for r in results) else 0
