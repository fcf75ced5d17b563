"""What every reporter returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    """Lines for stdout (the result, for programs) and stderr (for people)."""

    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()
