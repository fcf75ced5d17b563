"""How close to ideal the poll schedule brings a build: simulated over render lengths
of 2 s - 10 min, and measured against the emulator.

Run by hand:
    python bench/bench_polling.py --simulate            # instant: old vs new schedule
    python bench/bench_polling.py                       # also measured: 40 shots, C = 10
    python bench/bench_polling.py --latency 2.05 --latency 5 --shots 40 --limit 10
    PYTHONPATH=/other/tree python bench/bench_polling.py --measure-only   # another engine

Simulated: a render of length L is seen done at the first poll time >= L (a status
call taking no time); the worst seen/L over L in [2 s, 600 s] lies just after a poll
time, and is found exactly there. Measured: `shotbuild build -j C` of N shots against
the emulator on 127.0.0.1 (renders take exactly L, the account allows C at once):
ideal is ceil(N/C) x L, the time the jobs alone need.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import API_KEY, build_cmd, emulator, fresh_env, short_spec, timed_run

LATENCIES = (2.05, 2.5, 5.0, 10.0, 30.0)
SHORTEST, LONGEST = 2.0, 600.0


def old_delay(age: float) -> float:
    """The engine's schedule before shotbuild.polling: min(30, 2 + age/10)."""
    return min(30.0, 2 + age / 10)


@dataclass(frozen=True)
class Simulated:
    name: str
    worst: float  # largest seen/L over [SHORTEST, LONGEST]
    worst_at: float
    polls_long: int  # polls a LONGEST-second job takes
    at: dict[float, float]  # seen/L at each of LATENCIES


def simulate() -> list[Simulated]:
    from shotbuild.polling import DEFAULT, seen_at, worst_ratio

    rows = []
    for name, delay in (("old min(30, 2 + age/10)", old_delay), ("new", DEFAULT.delay)):
        worst, where = worst_ratio(delay, SHORTEST, LONGEST)
        at = {length: seen_at(delay, length)[0] / length for length in LATENCIES}
        rows.append(Simulated(name, worst, where, seen_at(delay, LONGEST)[1], at))
    return rows


@dataclass(frozen=True)
class SimulatedBuild:
    """The build's poll loop alone (shotbuild.build.poller on a fake clock, calls
    taking no time): N jobs of length L, C at a time, each wave created at once."""

    worst: float  # largest (sum of the waves' ends as seen) / (ceil(N/C) x L)
    worst_at: float
    calls_per_job: float  # status calls (batched) per job, at the worst L
    calls_long: float  # status calls per job when every job takes LONGEST
    at: dict[float, float]


def simulate_build(shots: int = 40, limit: int = 10) -> SimulatedBuild:
    """Worst over L in [SHORTEST, LONGEST]: tried just after each poll time of the
    schedule (where the worst lies for the first wave) and at LATENCIES."""
    import math

    from shotbuild.polling import DEFAULT

    lengths = [math.nextafter(t, math.inf) for t in DEFAULT.times_until(LONGEST)]
    lengths = [x for x in lengths if x >= SHORTEST] + list(LATENCIES)
    rows = {x: _simulated_build(x, shots, limit) for x in lengths}
    worst = max(rows, key=lambda x: rows[x][0])
    at = {x: rows[x][0] for x in LATENCIES}
    long = _simulated_build(LONGEST, shots, limit)[1]
    return SimulatedBuild(rows[worst][0], worst, rows[worst][1], long, at)


def _simulated_build(length: float, shots: int, limit: int) -> tuple[float, float]:
    import asyncio

    from shotbuild.backends.base import JobStatus
    from shotbuild.build.poller import Poller
    from shotbuild.status import RemoteState

    now, calls, ends = [0.0], [0], {}

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    class Runner:
        async def statuses(self, ids: list[str]) -> dict[str, JobStatus]:
            calls[0] += 1
            return {i: JobStatus(_state(now[0] >= ends[i])) for i in ids}

        async def status(self, video_id: str) -> JobStatus:
            raise AssertionError("every job is answered in the batch")

    def _state(done: bool) -> RemoteState:
        return RemoteState.COMPLETED if done else RemoteState.PENDING

    async def build() -> None:
        poller = Poller(Runner(), lambda: now[0], sleep, 1e9)  # type: ignore[arg-type]
        for wave in range(math.ceil(shots / limit)):
            ids = [f"w{wave}-{i}" for i in range(min(limit, shots - wave * limit))]
            for i in ids:
                ends[i] = now[0] + length
            await asyncio.gather(*(poller.wait(i, started=now[0]) for i in ids))

    asyncio.run(build())
    return now[0] / (math.ceil(shots / limit) * length), calls[0] / shots


@dataclass(frozen=True)
class Measured:
    latency: float
    wall: float  # the first build
    fixed: float  # the same build again, nothing to do: start-up, parse, plan
    ideal: float  # ceil(N/C) x L: the jobs alone
    status_per_job: float  # status requests (single and batched) per job
    batched_per_job: float  # of which GET /v3/videos/statuses

    @property
    def ratio(self) -> float:
        return self.wall / self.ideal

    @property
    def ratio_net(self) -> float:
        """Over ideal, without the fixed cost every build pays (a no-op's time)."""
        return (self.wall - self.fixed) / self.ideal


def measure(
    latency: float, shots: int, limit: int, folder: Path, jobs: int | None = None
) -> Measured:
    """One build of `shots` shots of `latency` s each, `-j jobs` (default: the account
    limit `limit`), then the same build again (a no-op) for the fixed cost."""
    with emulator(latency=latency, concurrency=limit) as emu:
        spec = short_spec(folder, shots)
        env = fresh_env(folder / "cache", HEYGEN_API_KEY=API_KEY, HEYGEN_BASE_URL=emu.url)
        cmd = build_cmd(spec, "-j", str(jobs or limit))
        wall = timed_run(cmd, env, cwd=folder)  # the engine PYTHONPATH names, not ./
        stats = emu.stats()
        fixed = timed_run(cmd, env, cwd=folder)
        if emu.stats()["jobs"] != shots:
            sys.exit("bench: the second build created jobs: it was not a no-op")
    if stats["jobs"] != shots:
        sys.exit(f"bench: {stats['jobs']} jobs for {shots} shots: {stats}")
    ideal = math.ceil(shots / limit) * latency
    single, batched = stats["status_calls"], stats["batch_status_calls"]
    return Measured(latency, wall, fixed, ideal, (single + batched) / shots, batched / shots)


def print_simulated_build(sim: SimulatedBuild) -> None:
    cells = "  ".join(f"L={x:g}s {r:.3f}x" for x, r in sim.at.items())
    print(
        f"simulated build, 40 shots, C = 10, the poll loop with its prior: worst"
        f" {sim.worst:.3f}x ideal (at L = {sim.worst_at:.2f} s, {sim.calls_per_job:.2f}"
        f" status calls/job; {sim.calls_long:.2f} calls/job at {LONGEST:g} s)\n  {cells}"
    )


def print_simulated(rows: list[Simulated]) -> None:
    print(f"simulated, render lengths {SHORTEST:g} s - {LONGEST:g} s (seen at / length):")
    heads = "".join(f"  L={x:g}s" for x in LATENCIES)
    print(f"  {'schedule':26} worst  (at L)    polls/{LONGEST:g}s-job{heads}")
    for r in rows:
        cells = "".join(f"  {r.at[x]:6.2f}" for x in LATENCIES)
        print(f"  {r.name:26} {r.worst:5.2f}x ({r.worst_at:6.2f} s) {r.polls_long:6d}{cells}")


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulate", action="store_true", help="the simulation only")
    parser.add_argument(
        "--measure-only", action="store_true", help="skip the simulation (e.g. an older tree)"
    )
    parser.add_argument("--latency", type=float, action="append", default=[])
    parser.add_argument("--shots", type=int, default=40)
    parser.add_argument("--limit", type=int, default=10, help="C: the account's and -j")
    args = parser.parse_args()
    if not args.measure_only:
        print_simulated(simulate())
        print_simulated_build(simulate_build())
    if args.simulate:
        return
    print(f"measured against the emulator: {args.shots} shots, C = -j = {args.limit}")
    with tempfile.TemporaryDirectory(prefix="shotbuild-bench-poll-") as tmp:
        for i, latency in enumerate(args.latency or LATENCIES):
            m = measure(latency, args.shots, args.limit, Path(tmp) / str(i))
            print(
                f"  L={latency:5g} s  wall {m.wall:7.2f} s  ideal {m.ideal:6.1f} s"
                f"  {m.ratio:5.2f}x  (without the no-op's {m.fixed:.2f} s: {m.ratio_net:.2f}x)"
                f"  {m.status_per_job:5.2f} status calls/job ({m.batched_per_job:.2f} batched)",
                flush=True,
            )


if __name__ == "__main__":
    main()
