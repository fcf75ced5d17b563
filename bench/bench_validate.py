"""Time `shotbuild validate` against check-jsonschema and against a floor on the
same 1,000-shot spec.

Run by hand: python bench/bench_validate.py [--shots N] [--runs N]

All commands run as subprocesses (start-up included, as in pre-commit), one
warm-up each, then --runs rounds, alternating; a ratio is the median over the
rounds of one round's two times (bench/run.py prints the same). Targets: shotbuild
takes at most half check-jsonschema's time, and at most 0.9x the floor: a
Python process that parses the file with yaml.CSafeLoader and checks it with a
fastjsonschema-compiled validator of the same schema (no positions, no rules,
one yes/no; `pip install fastjsonschema`, the `bench` extra). Also prints
load_spec in-process against a bare yaml.CSafeLoader parse of the same file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "shots.schema.json"
BIN = Path(sys.executable).parent


def spec_text(shots: int) -> str:
    lines = [
        "# yaml-language-server: $schema=../schemas/shots.schema.json",
        "version: 1",
        "defaults:",
        "  avatar_id: [look_founder]",
        "  resolution: 1080p",
        "shots:",
    ]
    for i in range(shots):
        lines += [
            f"  shot-{i:05d}:",
            "    prompt: >",
            f"      Shot {i}: a founder walks through a sunlit startup office, gesturing",
            "      toward a whiteboard, shot handheld in a documentary style.",
            "    avatar_id: [look_founder, look_cofounder]",
            f"    duration: {4 + i % 12}",
            '    aspect_ratio: "16:9"',
            f"    title: Shot number {i}",
            "    references:",
            f'      - {{type: url, url: "https://cdn.example.com/ref{i}.mp4"}}',
            f"      - {{type: asset_id, asset_id: ast_{i}, media: image}}",
        ]
    return "\n".join(lines) + "\n"


FLOOR = (
    "import json, sys, yaml, fastjsonschema;"
    " check = fastjsonschema.compile(json.load(open(sys.argv[1], encoding='utf-8')));"
    " check(yaml.load(open(sys.argv[2], encoding='utf-8'), Loader=yaml.CSafeLoader))"
)


def floor_command(spec: Path) -> list[str] | None:
    """The floor as a command, or None when fastjsonschema is not installed."""
    try:
        import fastjsonschema  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-c", FLOOR, str(SCHEMA), str(spec)]


@dataclass(frozen=True)
class Measured:
    """Wall and CPU seconds of each command over the same alternating rounds."""

    walls: dict[str, list[float]]
    cpus: dict[str, list[float]]

    def wall(self, name: str) -> float:
        return statistics.median(self.walls[name])

    def cpu(self, name: str) -> float:
        return statistics.median(self.cpus[name])

    def ratio(self, a: str, b: str, *, cpu: bool = False) -> float:
        """The median over the rounds of a's time over b's in the same round (a load
        spike of the shared machine hits both sides of one round): the one figure
        bench/run.py's table and this script both print."""
        times = self.cpus if cpu else self.walls
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def measure(commands: dict[str, list[str]], runs: int) -> Measured:
    """Each command once to warm up (disk cache, .pyc files), then `runs` rounds of
    all of them in turn, as subprocesses (start-up included, as in pre-commit)."""
    from _common import cpu_run

    for command in commands.values():
        cpu_run(command)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            wall, cpu = cpu_run(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return Measured(walls, cpus)


def commands_for(spec: Path) -> dict[str, list[str]]:
    ours = [str(BIN / "shotbuild"), "validate", str(spec)]
    theirs = [str(BIN / "check-jsonschema"), "--schemafile", str(SCHEMA), str(spec)]
    floor = floor_command(spec)
    return {"ours": ours, "theirs": theirs} | ({"floor": floor} if floor else {})


def median_of(fn: Callable[[], float], runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def in_process(spec: Path, runs: int) -> tuple[float, float]:
    import yaml

    from shotbuild.spec import load_spec

    text = spec.read_text(encoding="utf-8")

    def bare() -> float:
        start = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        return time.perf_counter() - start

    def load() -> float:
        start = time.perf_counter()
        load_spec(spec)
        return time.perf_counter() - start

    bare(), load()  # warm-up
    return median_of(bare, runs), median_of(load, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "shots.yaml"
        spec.write_text(spec_text(args.shots), encoding="utf-8")
        m = measure(commands_for(spec), args.runs)
        size = spec.stat().st_size / 1024
        print(f"spec: {args.shots} shots, {size:.0f} KiB; medians of {args.runs} runs")
        print(f"shotbuild validate      {m.wall('ours') * 1000:8.1f} ms")
        print(f"check-jsonschema        {m.wall('theirs') * 1000:8.1f} ms")
        print(f"ratio                   {m.ratio('ours', 'theirs'):8.2f}   (target <= 0.50)")
        if "floor" in m.walls:
            print(f"floor: CSafeLoader + fastjsonschema {m.wall('floor') * 1000:8.1f} ms")
            print(f"ratio to the floor      {m.ratio('ours', 'floor'):8.2f}   (target <= 0.90)")
            print(f"  the same in CPU time  {m.ratio('ours', 'floor', cpu=True):8.2f}")
        else:
            print("floor: not measured (pip install fastjsonschema)")
        bare, load = in_process(spec, args.runs)
        print(f"yaml CSafeLoader parse  {bare * 1000:8.1f} ms   (in process)")
        ratio = load / bare
        print(f"load_spec               {load * 1000:8.1f} ms   ({ratio:.2f}x the bare parse)")


if __name__ == "__main__":
    main()
