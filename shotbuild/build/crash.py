"""Tests only: a named point where the build dies as kill -9 would."""

from __future__ import annotations

import os

CRASH_ENV = "SHOTBUILD_TEST_CRASH_AT"  # kill -9 this process at a named point


def crash_point(name: str) -> None:
    """Die here when $SHOTBUILD_TEST_CRASH_AT names this point."""
    if os.environ.get(CRASH_ENV) == name:
        import signal  # here: its enums cost every build's import

        os.kill(os.getpid(), signal.SIGKILL)
