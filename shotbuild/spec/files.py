"""Which files `validate` checks, and the outcome of checking each: a folder is
searched for spec files (hidden folders, build/ and the like skipped); every
problem in every file is collected as a value, never raised."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from shotbuild.spec.load import check_file
from shotbuild.spec.problems import Problem
from shotbuild.value import Value

DEFAULT_SPEC = "shots.yaml"
# Spec files found when a folder is given (any file may be named explicitly).
SPEC_NAMES = ("shots.yaml", "shots.yml")
SPEC_SUFFIXES = (".shots.yaml", ".shots.yml")
SKIP_FOLDERS = frozenset({"node_modules", "__pycache__", "build"})


class Checked(Value):
    """One file (or folder) checked: `path` as shown to the user."""

    FIELDS = ("path", "problems")
    __slots__ = FIELDS

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path: Final = path
        self.problems: Final = problems


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


def check_paths(paths: Sequence[Path]) -> list[Checked]:
    """Every file under `paths` (default: shots.yaml here) with its problems."""
    results: list[Checked] = []
    for target in targets(paths):
        if isinstance(target, Checked):
            results.append(target)
        else:
            results.append(Checked(str(target), check_file(target)))
    return results
