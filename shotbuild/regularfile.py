"""The one bounded reader of a regular file from outside (a lock, a saved plan, the
outputs manifest, a config, the no-op record and the spec it rests on).

It imports only `os`, `stat` and `shotbuild.errors`, so the no-op fast path (which
runs before click, yaml, json or typing are imported) reads with it too; the
parsing and field checks of what it returns are `shotbuild.untrusted`'s."""

from __future__ import annotations

import os
import stat

from shotbuild.errors import FileRefused

TYPE_CHECKING = False  # typing is not imported: the no-op fast path reads this module
if TYPE_CHECKING:
    from pathlib import Path


def read_regular(path: str | Path, limit: int, *, follow: bool = True) -> bytes:
    """At most `limit` bytes of the regular file at `path` (see `read_regular_stat`)."""
    return read_regular_stat(path, limit, follow=follow)[0]


def read_regular_stat(
    path: str | Path, limit: int, *, follow: bool = True
) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at `path`, at most `limit` of them, and the
    fstat of the very file read. Opened without blocking (a FIFO cannot hang the
    read) and, with `follow=False`, without following a link at the last step; the
    open descriptor must be a regular file (never /dev/zero, a FIFO or a folder) of
    at most `limit` bytes, and at most `limit + 1` bytes are read (a file that grew
    while read is too large too). Anything else raises FileRefused."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as e:
        raise FileRefused(str(path), FileRefused.MISSING, limit, e.strerror or "") from None
    except OSError as e:
        raise FileRefused(str(path), FileRefused.UNREADABLE, limit, e.strerror or "") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(str(path), FileRefused.NOT_REGULAR, limit)
        data = b"" if st.st_size > limit else _read_at_most(fd, limit + 1)
    except OSError as e:
        raise FileRefused(str(path), FileRefused.UNREADABLE, limit, e.strerror or "") from None
    finally:
        os.close(fd)
    if st.st_size > limit or len(data) > limit:
        raise FileRefused(str(path), FileRefused.TOO_LARGE, limit)
    return data, st


def _read_at_most(fd: int, size: int) -> bytes:
    with os.fdopen(fd, "rb", closefd=False) as f:
        return f.read(size)
