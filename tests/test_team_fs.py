"""Files shotbuild writes atomically (shots.lock, outputs) get normal permissions:
what a new file gets under the umask, or the mode the file already had."""

from __future__ import annotations

import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

WRITE = """
import sys
from pathlib import Path
from shotbuild.fs import atomic_write_bytes
from shotbuild.store.cache import copy_atomic
from shotbuild.store.lock import LockEntry, write_lock

folder = Path(sys.argv[1])
entry = LockEntry("a" * 64, "vid_1", "b" * 64, 3, 4.0, "https://api.heygen.com", "t")
write_lock(folder / "shots.lock", {"intro": entry})
atomic_write_bytes(folder / "kept.bin", b"new bytes")
(folder / "src.mp4").write_bytes(b"mp4")
copy_atomic(folder / "src.mp4", folder / "build" / "intro.mp4")
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [("022", 0o644), ("027", 0o640)])
def test_new_files_get_the_umask_and_existing_ones_keep_their_mode(
    tmp_path: Path, mask: str, expected: int
) -> None:
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"old")
    kept.chmod(0o600)
    script = tmp_path / "write.py"
    script.write_text(WRITE)
    command = f"umask {mask}; exec {shlex.quote(sys.executable)} {script} {tmp_path}"
    subprocess.run(["sh", "-c", command], check=True)
    assert mode(tmp_path / "shots.lock") == expected
    assert mode(tmp_path / "build" / "intro.mp4") == expected
    assert mode(kept) == 0o600 and kept.read_bytes() == b"new bytes"
    assert not list(tmp_path.glob(".*.tmp"))
