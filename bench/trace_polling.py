"""Where a build's time goes beyond its jobs: one `shotbuild build -j C` of N shots
against the emulator, every request timed at the emulator (an ASGI wrapper), then
broken down per job: create round trip, how late the job was seen done, download,
and the gap from one job's end (its download) to the next create.

Run by hand:
    python bench/trace_polling.py --latency 2.05 --shots 40 --limit 10
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import API_KEY, build_cmd, fresh_env, short_spec

Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Hit:
    start: float
    end: float
    method: str
    path: str
    query: str
    status: int


class Timed:
    """An ASGI wrapper that records every HTTP request's start and end (monotonic)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.hits: list[Hit] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.monotonic(), [0]

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, sending)
        query = scope.get("query_string", b"").decode()
        self.hits.append(
            Hit(start, time.monotonic(), scope["method"], scope["path"], query, status[0])
        )


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values) * 1000:6.0f} ms  max {max(values) * 1000:6.0f} ms"
        f"  sum {sum(values):6.2f} s  (n={len(values)})"
    )


def trace(latency: float, shots: int, limit: int, folder: Path, profile: str = "") -> None:
    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread
    from shotbuild.preview import placeholder_mp4

    app = create_app(
        EmulatorConfig(api_key=API_KEY, seed=7, latency=latency, concurrency=limit),
        video_factory=placeholder_mp4,
    )
    world = app.state.world
    timed = Timed(app)
    spec = short_spec(folder, shots)
    with serve_in_thread(timed) as url:
        env = fresh_env(folder / "cache", HEYGEN_API_KEY=API_KEY, HEYGEN_BASE_URL=url)
        began = time.monotonic()
        cmd = build_cmd(spec, "-j", str(limit))
        if profile:  # the build under cProfile (wall time), its stats written to `profile`
            cmd[1:1] = ["-m", "cProfile", "-o", profile]
        subprocess.run(cmd, env=env, check=True)
        ended = time.monotonic()
    report(timed.hits, world, latency, shots, limit, began, ended)


def report(
    hits: list[Hit], world: Any, latency: float, shots: int, limit: int, began: float, ended: float
) -> None:
    jobs = sorted(world.jobs.values(), key=lambda j: j.created)
    creates = [h for h in hits if h.method == "POST" and h.path == "/v3/videos" and h.status == 200]
    downloads = [h for h in hits if h.path.startswith("/_emulator/videos/")]
    statuses = [h for h in hits if h.path.startswith("/v3/videos/") and h.method == "GET"]
    ideal = math.ceil(shots / limit) * latency
    print(
        f"L={latency:g} s, {shots} shots, C={limit}: wall {ended - began:.2f} s, ideal {ideal:g} s"
    )
    print(f"  start -> first create         {creates[0].start - began:.2f} s")
    for h in hits:
        if h.start < creates[0].start:
            print(f"    {h.start - began:6.3f}-{h.end - began:6.3f} s  {h.method} {h.path}")
    print(f"  last download end -> exit     {ended - max(h.end for h in downloads):.2f} s")
    print(f"  create round trip             {_ms([h.end - h.start for h in creates])}")
    late, seen_to_get, dl = [], [], []
    for job in jobs:
        mine = [h for h in statuses if job.id in h.path or job.id in h.query]
        done = [h for h in mine if h.start >= job.done_at]
        get = [h for h in downloads if job.id in h.path]
        if done and get:
            late.append(done[0].start - job.done_at)
            seen_to_get.append(get[0].start - done[0].end)
            dl.append(get[-1].end - get[0].start)
    print(f"  seen late (poll - done)       {_ms(late)}")
    print(f"  seen -> download start        {_ms(seen_to_get)}")
    print(f"  download                      {_ms(dl)}")
    ends = sorted(h.end for h in downloads)
    gaps = []
    for job in jobs[limit:]:
        before = [e for e in ends if e <= job.created]
        if before:
            gaps.append(job.created - before[-1])
    print(f"  download end -> next create   {_ms(gaps)}")
    waves = [jobs[i].created for i in range(0, len(jobs), limit)]
    print("  wave starts (s from first)    " + " ".join(f"{w - waves[0]:.2f}" for w in waves))
    print(f"  status requests {len(statuses)} ({len(statuses) / shots:.1f}/job)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, action="append", default=[])
    parser.add_argument("--shots", type=int, default=40)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--profile", default="", help="write the build's cProfile stats here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shotbuild-trace-poll-") as tmp:
        for i, latency in enumerate(args.latency or [2.05]):
            trace(latency, args.shots, args.limit, Path(tmp) / str(i), args.profile)


if __name__ == "__main__":
    main()
