"""Which options of `shotbuild build` leave it plain: the one list.

A plain build may be answered from the no-op record (`shotbuild.noop`) and write
one when it did nothing; a build given any option in NOT_PLAIN does more than say
its summary (or says it otherwise), so it never is. Every option of `build` is in
exactly one of NOT_PLAIN and PLAIN (a test checks the click command against both,
so a new option cannot be forgotten). Light: the no-op fast path imports this
before click."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: the no-op fast path reads this module
if TYPE_CHECKING:
    from collections.abc import Mapping

JOBS = 4  # -j/--jobs by default (the command line's, the Python API's, the fast path's)
TIMEOUT = 30 * 60.0  # --timeout by default, seconds

# click's parameter names of the options that make a build not plain
NOT_PLAIN = frozenset(
    {
        "only",
        "force",
        "all_takes",  # writes takes/: never a recorded no-op
        "dry_run",
        "max_seconds",
        "max_cost",
        "out",
        "rerender_missing",
        "remote_cache",
        "remote_cache_mode",
        "saved",  # --plan FILE
        "as_json",  # --json
    }
)

# the plain flags, with their spellings: the no-op fast path takes these as they are
PLAIN_FLAGS = {
    "quiet": ("-q", "--quiet"),
    "verbose": ("-v", "--verbose"),
    "keep_going": ("-k", "--keep-going"),
    "yes": ("-y", "--yes"),
}
# the other plain parameters (the fast path checks the values of -j and --backend
# itself, and leaves a build with --timeout to the ordinary path)
PLAIN = frozenset({"spec", "jobs", "backend", "timeout", *PLAIN_FLAGS})


def is_plain(values: Mapping[str, object]) -> bool:
    """Whether a build given these parameter values (click's names) is plain: none
    of NOT_PLAIN given (a flag false, a list empty, anything else None)."""
    return all(_unset(values[name]) for name in NOT_PLAIN)


def _unset(value: object) -> bool:
    return value is None or value is False or value == ()
