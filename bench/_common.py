"""Helpers the benches share: timing (medians after a warm-up), subprocess runs,
peak RSS of a child process, the machine's description, spec writers and an
in-process emulator. Run by hand only; nothing here is imported by the tests."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
API_KEY = "sk-bench-emulated-0000"


@dataclass
class Figure:
    """One row of the table: `value` against `baseline`, their ratio and its target."""

    name: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None  # None: no target, reported only
    command: str
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: "-"}[self.met]


def median_after_warmup(fn: Callable[[], float], runs: int, warmup: int = 1) -> float:
    """Call fn (which returns seconds) `warmup` times, then the median of `runs` calls."""
    for _ in range(warmup):
        fn()
    return statistics.median(fn() for _ in range(runs))


def timed_run(
    cmd: list[str], env: dict[str, str] | None = None, check: bool = True, cwd: Path | None = None
) -> float:
    """Wall seconds of a subprocess; exits the bench with its stderr if it failed. Give
    `cwd` outside the repository when PYTHONPATH names another tree: `python -m`
    puts the current folder first on sys.path."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cwd)
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        sys.exit(f"bench: failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def cpu_run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + sys) of a subprocess that must succeed."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed_run(cmd, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


_RSS_WRAPPER = (
    "import resource, subprocess, sys; "
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)"
)


def peak_rss_mb(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of `cmd`, measured by a wrapper process whose only
    child it is (getrusage RUSAGE_CHILDREN: ru_maxrss is in KiB on Linux)."""
    start = time.perf_counter()
    done = subprocess.run([PY, "-c", _RSS_WRAPPER, *cmd], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    kib, rc = done.stdout.split()
    if rc != "0":
        sys.exit(f"bench: failed ({rc}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return int(kib) / 1024, elapsed


def machine() -> dict[str, str]:
    mem = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": sys.version.split()[0],
        "os": f"{platform.system()} {platform.release()}",
        "load average": load_average(),
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fresh_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    """os.environ without HEYGEN_*/SHOTBUILD_* settings, with its own cache folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEYGEN_", "SHOTBUILD_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # time what users run: cached bytecode
    env["SHOTBUILD_CACHE_DIR"] = str(cache_dir)
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def short_spec(folder: Path, shots: int, prefix: str = "shot") -> Path:
    """A spec of `shots` 4-second shots (for emulator builds)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", "defaults:", "  avatar_id: [look_founder]", "  duration: 4", "shots:"]
    lines += [
        f"  {prefix}-{i:03d}: {{prompt: 'Shot {i}: the founder waves.'}}" for i in range(shots)
    ]
    path = folder / "shots.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Emulator:
    url: str
    app: Any

    @property
    def world(self) -> Any:
        from shotbuild.emulator import world_of

        return world_of(self.app)

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.world.stats.as_json()
        return stats


@contextlib.contextmanager
def emulator(**config: Any) -> Iterator[Emulator]:
    """The HeyGen emulator in this process on 127.0.0.1 (placeholder videos unless
    `video_factory=` is given); stopped on exit."""
    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread
    from shotbuild.preview import placeholder_mp4

    factory = config.pop("video_factory", placeholder_mp4)
    config.setdefault("api_key", API_KEY)
    config.setdefault("seed", 7)
    app = create_app(EmulatorConfig(**config), video_factory=factory)
    with serve_in_thread(app) as url:
        yield Emulator(url, app)


def build_cmd(spec: Path, *args: str) -> list[str]:
    return [PY, "-m", "shotbuild", "build", "-q", str(spec), *args]
