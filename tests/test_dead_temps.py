"""The temporary files of atomic writes a kill left: their name carries the writer's
pid; the next build (or `clean`) removes those whose writer is gone, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import SPEC_HEAD, RunningEmulator

from shotbuild.fs import atomic_writer, remove_dead_temps
from shotbuild.store.outputs import MANIFEST_NAME

KEY = "sk-dead-temps-emulated-7c1d"
SEED = 5
SPEC = SPEC_HEAD + "  a: {prompt: The founder says hello.}\n"

KILLED_WRITER = """\
import os, signal, sys
from pathlib import Path
from shotbuild.fs import atomic_writer
with atomic_writer(Path(sys.argv[1])) as f:
    f.write(b'{"half": ')
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_write(path: Path) -> Path:
    """A child process killed with SIGKILL in the middle of an atomic write of
    `path`: the temporary file it left."""
    before = set(path.parent.iterdir())
    child = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], timeout=60)
    assert child.returncode == -9
    [left] = set(path.parent.iterdir()) - before
    return left


def dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return int(child.stdout)


def test_the_temporary_name_carries_the_writers_pid(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    with atomic_writer(target) as f:
        f.write(b"{}")
        [temp] = [p.name for p in tmp_path.iterdir()]
    assert temp.startswith(f".x.json.shotbuild-{os.getpid()}-") and temp.endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_only_a_gone_writers_own_temporary_files_are_removed(tmp_path: Path) -> None:
    gone = dead_pid()
    dead = tmp_path / f".m.json.shotbuild-{gone}-ab_c12de.tmp"
    keep = {
        "live writer": tmp_path / f".m.json.shotbuild-{os.getppid()}-ab_c12de.tmp",
        "this process": tmp_path / f".m.json.shotbuild-{os.getpid()}-ab_c12de.tmp",
        "another name": tmp_path / f".a.mp4.shotbuild-{gone}-ab_c12de.tmp",
        "no pid (older names)": tmp_path / ".m.json.ab_c12de.tmp",
        "a user's file": tmp_path / f".m.json.shotbuild-{gone}-notes.txt",
    }
    for path in (dead, *keep.values()):
        path.write_bytes(b"half")
    (tmp_path / f".m.json.shotbuild-{gone}-dir12345.tmp").mkdir()
    os.symlink(dead, tmp_path / f".m.json.shotbuild-{gone}-link1234.tmp")
    now = time.time()
    late = tmp_path / f".m.json.shotbuild-{gone}-late1234.tmp"
    late.write_bytes(b"written after the lock")
    os.utime(late, (now + 5, now + 5))
    assert remove_dead_temps(tmp_path, ("m.json",), now + 1) == [dead]
    assert not dead.exists()
    assert all(p.exists() for p in keep.values()) and late.exists()
    assert (tmp_path / f".m.json.shotbuild-{gone}-link1234.tmp").is_symlink()
    assert remove_dead_temps(tmp_path / "absent", ("m.json",), now) == []


def test_the_next_build_removes_a_killed_manifest_and_lock_save(
    built_spec: Path, emu: RunningEmulator
) -> None:
    build = built_spec.parent / "build"
    temps = [killed_write(build / MANIFEST_NAME), killed_write(built_spec.with_suffix(".lock"))]
    live = build / f".{MANIFEST_NAME}.shotbuild-{os.getpid()}-live1234.tmp"  # a writer at work
    live.write_bytes(b"half")
    before = emu.creates
    again = emu.shotbuild("build", str(built_spec))
    assert again.returncode == 0, again.stderr
    assert [t.exists() for t in temps] == [False, False] and live.exists()
    assert emu.creates == before
    live.unlink()


def test_clean_removes_a_killed_manifest_save(built_spec: Path, emu: RunningEmulator) -> None:
    temp = killed_write(built_spec.parent / "build" / MANIFEST_NAME)
    cleaned = emu.shotbuild("clean", str(built_spec))
    assert cleaned.returncode == 0, cleaned.stderr
    assert not temp.exists()


def test_the_next_build_removes_a_killed_take_file_write(
    built_spec: Path, emu: RunningEmulator
) -> None:
    assert emu.shotbuild("build", "--all-takes", str(built_spec)).returncode == 0
    takes = built_spec.parent / "build" / "takes" / "a"
    temp = killed_write(takes / "1.mp4")  # a killed `build --all-takes` (or clean) left it
    gone = dead_pid()
    keep = [
        takes / f".1.mp4.shotbuild-{os.getpid()}-live1234.tmp",  # a writer at work
        takes / f".notes.txt.shotbuild-{gone}-ab_c12de.tmp",  # not a take file's
    ]
    for path in keep:
        path.write_bytes(b"half")
    again = emu.shotbuild("build", str(built_spec))
    assert again.returncode == 0, again.stderr
    assert not temp.exists() and all(path.exists() for path in keep)
    assert (takes / "1.mp4").exists()
