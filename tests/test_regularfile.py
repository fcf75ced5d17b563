"""The one bounded reader of a regular file from outside (shotbuild.regularfile)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from shotbuild.errors import FileRefused, ShotbuildError
from shotbuild.regularfile import read_regular, read_regular_stat


def _refused(path: Path, limit: int = 10, *, follow: bool = True) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        read_regular(path, limit, follow=follow)
    return caught.value


def test_reads_a_file_of_exactly_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    assert read_regular(path, 10) == b"0123456789"
    data, st = read_regular_stat(str(path), 10, follow=False)
    assert data == b"0123456789"
    assert (st.st_size, st.st_ino) == (10, path.stat().st_ino)


def test_one_byte_over_the_limit_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789!")
    refused = _refused(path)
    assert isinstance(refused, ShotbuildError)
    assert (refused.reason, refused.limit) == (FileRefused.TOO_LARGE, 10)
    assert str(refused) == f"{path}: larger than 10 bytes"
    assert refused.said == "larger than 10 bytes"


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    refused = _refused(tmp_path / "absent")
    assert refused.reason == FileRefused.MISSING
    assert refused.said == "cannot be read (No such file or directory)"


def test_a_link_is_followed_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"text")
    link = tmp_path / "link"
    link.symlink_to("target")
    assert read_regular(link, 10) == b"text"
    refused = _refused(link, follow=False)
    assert refused.reason == FileRefused.UNREADABLE
    assert refused.strerror  # the system's words (ELOOP), never empty


def test_a_link_to_a_device_is_not_read(tmp_path: Path) -> None:
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    assert _refused(link, 1 << 30).reason == FileRefused.NOT_REGULAR


def test_a_folder_is_not_a_regular_file(tmp_path: Path) -> None:
    refused = _refused(tmp_path)
    assert refused.reason == FileRefused.NOT_REGULAR
    assert refused.said == "not a regular file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert _refused(fifo).reason == FileRefused.NOT_REGULAR  # (a blocking open would hang)
    assert _refused(fifo, follow=False).reason == FileRefused.NOT_REGULAR


def test_the_descriptor_is_closed_whatever_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the descriptors it opens, each closed (not a count of the process's: other
    # threads of the suite open and close theirs meanwhile)
    opened: list[int] = []
    closed: list[int] = []
    real_open, real_close = os.open, os.close
    me = threading.get_ident()

    def counted_open(*args: Any, **kwargs: Any) -> int:
        fd = real_open(*args, **kwargs)
        if threading.get_ident() == me:
            opened.append(fd)
        return fd

    def counted_close(fd: int) -> None:
        if threading.get_ident() == me:
            closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "open", counted_open)
    monkeypatch.setattr(os, "close", counted_close)
    path = tmp_path / "f"
    path.write_bytes(b"x" * 20)
    for _ in range(50):
        _refused(path)
        _refused(tmp_path)
        read_regular(path, 20)
    monkeypatch.undo()
    assert len(opened) >= 100 and sorted(closed) == sorted(opened)


def test_importing_it_stays_light() -> None:
    """The no-op fast path reads with it before json, typing or click are imported."""
    code = (
        "import sys; before = set(sys.modules); import shotbuild.regularfile;"
        " print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(ast.literal_eval(out))
    assert loaded <= {"__future__", "shotbuild", "shotbuild.errors", "shotbuild.regularfile"}
