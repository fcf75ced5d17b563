"""What the soak tests share: an in-process emulator, a spec of N short shots,
`shotbuild build` as a subprocess, the checks of a finished build, and the
one-line summaries `bench/run.py --soak` collects into BENCHMARKS.md."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread, world_of
from shotbuild.preview import placeholder_mp4
from shotbuild.store.lock import loads_lock

KEY = "sk-soak-emulated-5e1f"
HEYGEN_FAILURE = "The video could not be rendered; try again"  # the emulator's message


def trials(name: str, default: int) -> int:
    """Trials of one soak: $SHOTBUILD_SOAK_<NAME>_TRIALS, else $SHOTBUILD_SOAK_TRIALS,
    else `default` (the short version CI runs; a person runs 30 or more)."""
    value = os.environ.get(f"SHOTBUILD_SOAK_{name}_TRIALS") or os.environ.get(
        "SHOTBUILD_SOAK_TRIALS"
    )
    return int(value or default)


def report(test: str, summary: str) -> None:
    """Print the summary, and append it to $SHOTBUILD_SOAK_REPORT when set."""
    print(f"{test}: {summary}")
    where = os.environ.get("SHOTBUILD_SOAK_REPORT")
    if where:
        with open(where, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": test, "summary": summary}) + "\n")


@dataclass
class Emu:
    url: str
    app: Any

    @property
    def world(self) -> Any:
        return world_of(self.app)

    def jobs_per_prompt(self) -> Counter[str]:
        return Counter(job.body["prompt"] for job in self.world.jobs.values())

    def paid_twice(self) -> list[str]:
        """Prompts with a second job after one that did not fail: paid twice."""
        seen: dict[str, list[Any]] = {}
        for job in self.world.jobs.values():  # in creation order
            seen.setdefault(job.body["prompt"], []).append(job)
        return [p for p, jobs in seen.items() if any(not j.failure for j in jobs[:-1])]


@contextlib.contextmanager
def emulator(**config: Any) -> Iterator[Emu]:
    config.setdefault("seed", 7)
    app = create_app(EmulatorConfig(api_key=KEY, **config), video_factory=placeholder_mp4)
    with serve_in_thread(app) as url:
        yield Emu(url, app)


def write_spec(folder: Path, shots: int, failing: Sequence[int] = ()) -> Path:
    """`shots` 4-second shots; those numbered in `failing` always fail to render."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", "defaults:", "  avatar_id: [look_founder]", "  duration: 4", "shots:"]
    for i in range(shots):
        mark = " [emulator:fail]" if i in failing else ""
        lines.append(f"  shot-{i:03d}: {{prompt: 'Shot {i}: the founder waves.{mark}'}}")
    path = folder / "shots.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def build_env(emu: Emu, cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEYGEN_", "SHOTBUILD_"))}
    env |= {"HEYGEN_API_KEY": KEY, "HEYGEN_BASE_URL": emu.url, "SHOTBUILD_CACHE_DIR": str(cache)}
    return env | extra


def build_cmd(spec: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "shotbuild", "build", str(spec), *args]


def shotbuild_cmd(*args: str) -> list[str]:
    """Any shotbuild command (`reroll`, `build --force`, ...) as a child process."""
    return [sys.executable, "-m", "shotbuild", *args]


def run_build(
    spec: Path, env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        build_cmd(spec, *args), env=env, capture_output=True, text=True, timeout=timeout
    )


def lock_is_valid(spec: Path) -> int:
    """Entries in the spec's lock (0 when there is none yet); raises when it is damaged."""
    lock = spec.with_suffix(".lock")
    return len(loads_lock(lock.read_text(encoding="utf-8"))) if lock.exists() else 0


def corrupt_outputs(spec: Path, names: Sequence[str]) -> list[str]:
    """What is wrong in build/ against the lock: missing, partial or mismatched mp4s,
    lock entries missing, temporary files left behind."""
    problems: list[str] = []
    lock = loads_lock(spec.with_suffix(".lock").read_text(encoding="utf-8"))
    build = spec.parent / "build"
    for name in names:
        entry = lock.get(name)
        out = build / f"{name}.mp4"
        if entry is None:
            problems.append(f"{name}: no lock entry")
        elif not out.exists():
            problems.append(f"{name}: no output")
        else:
            data = out.read_bytes()
            if data[4:8] != b"ftyp":
                problems.append(f"{name}: not an mp4")
            if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
                problems.append(f"{name}: output does not match its lock entry")
    problems += [f"left over: {p.name}" for p in build.glob("*") if p.name.endswith(".tmp")]
    return problems
