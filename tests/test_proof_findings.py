"""Engine behaviour found by the benchmarks and soak tests (issue 7), kept as
tests: real builds against the emulator on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

KEY = "sk-proof-findings-1a2b"


def _build(spec: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEYGEN_API_KEY": KEY, "HEYGEN_BASE_URL": url}
    cmd = [sys.executable, "-m", "shotbuild", "build", str(spec)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def test_a_download_that_breaks_off_once_is_fetched_again(
    tmp_path: Path, emulator: Callable[..., object]
) -> None:
    emu = emulator(api_key=KEY, latency=0.0)
    spec = tmp_path / "shots.yaml"
    spec.write_text("version: 1\nshots:\n  a: {prompt: Hello., avatar_id: [look_founder]}\n")
    emu.faults(drop_downloads_next=1)  # type: ignore[attr-defined]
    done = _build(spec, emu.url)  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr
