"""The one error tree. Every error a user can cause is a ShotbuildError: one line
(or one line per problem), a message that says what to do next, an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # invalid spec, a shot failed, a known error
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class ShotbuildError(Exception):
    """A known error: shown to the user as it is, without a traceback."""

    exit_code = EXIT_FAILED
    # the build's problem, not one shot's (a rejected API key, no credit): a build
    # stops with this one line instead of failing every shot with it
    whole_build = False


def whole_build_error(error: BaseException) -> ShotbuildError | None:
    """The error in `error`'s chain of causes that stops the whole build, if any."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ShotbuildError) and seen.whole_build:
            return seen
        seen = seen.__cause__
    return None


class UsageError(ShotbuildError):
    """The command line itself is wrong."""

    exit_code = EXIT_USAGE


class MissingExtra(ShotbuildError):
    """An optional dependency is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'shotbuild[{extra}]'")


class FileRefused(ShotbuildError):
    """A file from outside that was not read (`shotbuild.regularfile.read_regular`):
    `reason` is MISSING, UNREADABLE (`strerror` says why), NOT_REGULAR (a folder, a
    FIFO, a device, or a link where none is followed) or TOO_LARGE (over `limit`
    bytes). `said` is the reason in words, without the path; each reader makes
    its own message of the path, these and what to do about its own file."""

    MISSING = "missing"
    UNREADABLE = "unreadable"
    NOT_REGULAR = "not a regular file"
    TOO_LARGE = "too large"

    def __init__(self, path: str, reason: str, limit: int, strerror: str = "") -> None:
        self.path, self.reason, self.limit, self.strerror = path, reason, limit, strerror
        if reason == self.TOO_LARGE:
            said = f"larger than {limit:,} bytes"
        elif reason == self.NOT_REGULAR:
            said = "not a regular file"
        else:
            said = f"cannot be read ({strerror})"
        self.said = said
        super().__init__(f"{path}: {said}")
