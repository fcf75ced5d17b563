"""What is wrong with a spec, as values: one Problem per error, all of them
collected, and one exception that carries the list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from shotbuild.errors import ShotbuildError
from shotbuild.value import Value

# A path to a value inside the spec document: keys and list indices.
JsonPath = tuple[str | int, ...]


class Problem(Value):
    """One error in one spec file, at the 1-based line and column of the value
    (ordered by file, line, column, message)."""

    FIELDS = ("file", "line", "col", "message")
    __slots__ = FIELDS

    def __init__(self, file: str, line: int, col: int, message: str) -> None:
        self.file: Final = file
        self.line: Final = line
        self.col: Final = col
        self.message: Final = message

    def __lt__(self, other: Problem) -> bool:
        return self._compared() < other._compared()

    def __le__(self, other: Problem) -> bool:
        return self._compared() <= other._compared()

    def __gt__(self, other: Problem) -> bool:
        return self._compared() > other._compared()

    def __ge__(self, other: Problem) -> bool:
        return self._compared() >= other._compared()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class SpecInvalid(ShotbuildError):
    """A spec file has one or more problems; str() is one line per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def unique(problems: Iterable[Problem]) -> list[Problem]:
    """Problems without repeats (a bad default is reported once, not once per
    shot), in the order of the file."""
    return sorted(set(problems))


def label(path: JsonPath) -> str:
    """A short name for a value: its key, with list indices, e.g. avatar_id[3]."""
    parts: list[str] = []
    for part in reversed(path):
        parts.insert(0, f"[{part}]" if isinstance(part, int) else str(part))
        if not isinstance(part, int):
            break
    return "".join(parts) or "the spec"
