"""The worker processes of local renders.

They are spawned (no fork of a process holding threads and open files), and the
caller's `__main__` is hidden while they start: a spawned child otherwise re-runs
the caller's script (which builds again: BuildLocked, then BrokenProcessPool) or,
from `python -` or a REPL, fails to find '<stdin>'. The render functions live in
importable modules, so the children never need the caller's main."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@contextlib.contextmanager
def main_hidden() -> Iterator[None]:
    """`__main__` is a bare module while processes start (main thread only)."""
    real = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real


class _Pool(ProcessPoolExecutor):
    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with main_hidden():  # submit is where worker processes start
            return super().submit(fn, *args, **kwargs)


def process_pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    return _Pool(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
