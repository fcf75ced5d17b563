"""First build against a zero-latency emulator: does it grow linearly, and how much
of its wall time is bookkeeping (shots.lock, the manifest, job records and the
list of jobs in flight, the cache index)?

Run by hand: python bench/bench_firstbuild.py [--shots 1000 3000] [--jobs 16] [--runs 1]
[--detail]

The emulator runs as its own process (latency 0, placeholder videos), so its CPU
is not the build's. Each build is a fresh spec, cache and build folder, run as a
child process (`python bench_firstbuild.py --child ...`) that wraps the engine's
bookkeeping functions in timing counters before it calls the CLI: a bench-only
hook, nothing in shotbuild knows of it. A counter times the outermost wrapped call
only (a nested wrapped call is not counted twice), so the categories add up to the
bookkeeping share. What is counted (see HOOKS): reading and writing shots.lock,
recording a take in it, the manifest (loading it, recording an output's stat,
merging and saving), job records (read and written) and the list of jobs in flight,
the cache's results, requests and paid-render records, and every call into the
diskcache index itself from anywhere, the cache's one-statement get and set too (so
a read made while planning or by the API client counts too), its transactions'
BEGIN and COMMIT included. Shown apart, not in
the share: the temporary file a download streams into and its rename into blobs/
("blob files": the download landing, like the copy into build/). Not counted: the
create/poll/download round trips, hashing the download, copying it into build/ (the
output itself). Beside the wall share, the CPU share of the build's own thread
(bookkeeping CPU over main()'s CPU) is printed: steadier on a loaded machine."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import API_KEY, PY, fresh_env, short_spec

# category -> (module, attribute path) of the functions timed; a missing one is skipped,
# so the same bench times an older engine too (its names are listed in the output).
# Everything that reads or writes the lock, the manifest, the job records, the lists of
# jobs in flight and the cache is timed, down to the diskcache index's own methods (so
# an index read or write from anywhere, planning and the API client's notes included,
# is counted), and the cache's file moves around a download (its temporary file, the
# rename into blobs/): not only the recorder's calls.
HOOKS: dict[str, tuple[tuple[str, str], ...]] = {
    "lock": (
        ("shotbuild.build.record", "Recorder._lock_take"),
        ("shotbuild.build.record", "Recorder._timed_flush"),
        ("shotbuild.store.lock", "read_lock_file"),
        ("shotbuild.store.lock", "write_lock_file"),
        ("shotbuild.store.lock", "LockWriter.write"),
        ("shotbuild.store.lock", "LockWriter.flush"),
    ),
    "manifest": (
        ("shotbuild.store.outputs", "Manifest.__init__"),
        ("shotbuild.store.outputs", "Manifest.record"),
        ("shotbuild.store.outputs", "Manifest.put"),
        ("shotbuild.store.outputs", "Manifest.forget"),
        ("shotbuild.store.outputs", "Manifest.changed"),
        ("shotbuild.store.outputs", "Manifest.flush"),
        ("shotbuild.store.outputs", "Manifest.save"),
    ),
    "jobs in flight": (
        ("shotbuild.build.record", "Recorder.journal"),
        ("shotbuild.store.cache", "Cache.job"),
        ("shotbuild.store.cache", "Cache.stored_job"),
        ("shotbuild.store.cache", "Cache.put_job"),
        ("shotbuild.store.cache", "Cache.in_flight"),
        ("shotbuild.store.cache", "Cache.track_job"),
        ("shotbuild.store.cache", "Cache.untrack_jobs"),
        ("shotbuild.store.cache", "Cache.flush_in_flight"),
        ("shotbuild.build.record", "Recorder.intend"),
    ),
    "cache index": (
        ("shotbuild.store.cache", "Cache.result"),
        ("shotbuild.store.cache", "Cache.put_result"),
        ("shotbuild.store.cache", "Cache.request"),
        ("shotbuild.store.cache", "Cache.put_request"),
        ("shotbuild.store.cache", "Cache.stat_load"),
        ("shotbuild.store.cache", "Cache.stat_save"),
        ("shotbuild.store.cache", "Cache.remember_spec"),
        ("shotbuild.store.cache", "Cache.close"),
        ("shotbuild.store.cache", "Cache.stage"),
        ("shotbuild.store.cache", "Cache.writing"),  # a context manager
        ("shotbuild.store.cache", "Cache.commit"),
        ("shotbuild.store.cache", "Cache.read"),
        ("shotbuild.build.record", "Recorder._timed_commit"),
        ("shotbuild.build.record", "Recorder._remember"),
        ("shotbuild.build.record", "record_paid"),
        ("shotbuild.build.record", "takes_on_record"),
        ("shotbuild.store.records", "paid_records"),
        ("shotbuild.store.records", "adoptable"),
        ("shotbuild.store.cache", "_Guarded.get"),  # the index's one-statement read
        ("shotbuild.store.cache", "_Guarded.set"),  # and write
        ("diskcache", "Cache.__init__"),
        ("diskcache", "Cache.get"),
        ("diskcache", "Cache.set"),
        ("diskcache", "Cache.delete"),
        ("diskcache", "Cache.iterkeys"),
        ("diskcache", "Cache.close"),
        ("diskcache", "Cache.transact"),  # its BEGIN and COMMIT (a context manager)
    ),
    "blob files": (
        ("shotbuild.store.cache", "Cache.temp_file"),
        ("shotbuild.store.cache", "Cache.adopt_blob"),
    ),
    "no-op record": (("shotbuild.noop", "Watch.finish"),),
}
APART = {"blob files"}  # timed and shown, not bookkeeping (the download landing)
CONTEXT_MANAGERS = {"Cache.transact", "Cache.writing"}  # timed on the way in and on the way out


class Counters:
    """Seconds per category (and per function), counting only the outermost timed call."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.detail: dict[str, float] = defaultdict(float)
        self.cpu = 0.0  # CPU seconds of this thread in the timed calls
        self.detail_cpu: dict[str, float] = defaultdict(float)
        self.detail_calls: dict[str, int] = defaultdict(int)
        self.depth = 0
        self.hooked: list[str] = []

    def timing(self, category: str, name: str, fn: Callable[[], Any]) -> Any:
        if self.depth:
            return fn()
        self.depth += 1
        start, start_cpu = time.perf_counter(), time.thread_time()
        try:
            return fn()
        finally:
            took, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
            self.seconds[category] += took
            self.cpu += cpu if category not in APART else 0.0
            self.detail[name] += took
            self.detail_cpu[name] += cpu
            self.detail_calls[name] += 1
            self.calls[category] += 1
            self.depth -= 1

    def wrap(self, category: str, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kw: Any) -> Any:
            return self.timing(category, name, lambda: fn(*args, **kw))

        return timed

    def wrap_cm(self, category: str, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        counters = self

        class Timed:
            def __init__(self, cm: Any) -> None:
                self.cm = cm

            def __enter__(self) -> Any:
                return counters.timing(category, name, self.cm.__enter__)

            def __exit__(self, *exc: Any) -> Any:
                return counters.timing(category, name, lambda: self.cm.__exit__(*exc))

        def timed(*args: Any, **kw: Any) -> Any:
            return Timed(fn(*args, **kw))

        return timed

    def install(self) -> None:
        for category, hooks in HOOKS.items():
            for module_name, attr in hooks:
                module = importlib.import_module(module_name)
                owner_name, _, name = attr.rpartition(".")
                owner = getattr(module, owner_name, None) if owner_name else module
                fn = getattr(owner, name, None)
                if owner is None or fn is None:
                    continue
                wrap = self.wrap_cm if attr in CONTEXT_MANAGERS else self.wrap
                setattr(owner, name, wrap(category, f"{module_name}.{attr}", fn))
                self.hooked.append(f"{module_name}.{attr}")


def child(out: Path, argv: list[str]) -> int:
    """Run `shotbuild <argv>` in this process with the counters installed."""
    counters = Counters()
    counters.install()
    import resource

    from shotbuild.cli import main

    start, start_cpu = time.perf_counter(), time.thread_time()
    code = main(argv)
    wall = time.perf_counter() - start
    main_cpu = time.thread_time() - start_cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    doc = {
        "code": code,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "seconds": counters.seconds,
        "calls": counters.calls,
        "hooked": counters.hooked,
        "detail": counters.detail,
        "detail_cpu": counters.detail_cpu,
        "detail_calls": counters.detail_calls,
        "bookkeeping_cpu": counters.cpu,
        "main_cpu": main_cpu,
    }
    out.write_text(json.dumps(doc))
    return code


def serve_emulator() -> int:
    """The emulator (placeholder videos: no renderer's time in the build) until stdin closes."""
    from _common import emulator

    with emulator(latency=0.0, concurrency=100000) as emu:
        print(emu.url, flush=True)
        sys.stdin.read()
    return 0


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    """The zero-latency emulator as its own process; its URL."""
    proc = subprocess.Popen(
        [PY, __file__, "--emulator"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            sys.exit(f"bench: the emulator did not start ({url!r})")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def emulator_stats(url: str) -> dict[str, Any]:
    import httpx

    answer = httpx.get(f"{url}/_emulator/stats", headers={"x-api-key": API_KEY}, timeout=10)
    stats: dict[str, Any] = answer.raise_for_status().json()["data"]
    return stats


@dataclass(frozen=True)
class Run:
    shots: int
    wall: float  # the child's whole process, start-up included
    inside: float  # the CLI's main() only
    cpu: float  # user + sys seconds of the child (steadier than wall on a shared machine)
    seconds: dict[str, float]
    calls: dict[str, int]
    hooked: list[str]
    detail: dict[str, float] = field(default_factory=dict)  # seconds per timed function
    bookkeeping_cpu: float = 0.0  # CPU seconds of the build's thread in the timed calls
    detail_cpu: dict[str, float] = field(default_factory=dict)
    detail_calls: dict[str, int] = field(default_factory=dict)
    main_cpu: float = 0.0  # CPU seconds of the build's thread in main()

    @property
    def bookkeeping(self) -> float:
        return sum(v for k, v in self.seconds.items() if k not in APART)

    @property
    def apart(self) -> float:
        return sum(v for k, v in self.seconds.items() if k in APART)

    @property
    def share(self) -> float:
        return self.bookkeeping / self.inside

    @property
    def cpu_share(self) -> float:
        return self.bookkeeping_cpu / self.main_cpu if self.main_cpu else 0.0


def first_build(folder: Path, url: str, shots: int, jobs: int) -> Run:
    """One first build of `shots` new shots; checked complete with one create each."""
    spec = short_spec(folder, shots)
    env = fresh_env(folder / "cache", HEYGEN_API_KEY=API_KEY, HEYGEN_BASE_URL=url)
    out = folder / "counters.json"
    before = emulator_stats(url)["creates_total"]
    argv = ["build", "-q", "-y", str(spec), "-j", str(jobs)]
    start = time.perf_counter()
    done = subprocess.run(
        [PY, __file__, "--child", str(out), *argv], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench: the first build of {shots} shots failed:\n{done.stderr[-2000:]}")
    creates = emulator_stats(url)["creates_total"] - before
    lock = json.loads((folder / "shots.lock").read_text())
    if creates != shots or len(lock["shots"]) != shots:
        sys.exit(f"bench: {shots} shots gave {creates} creates, {len(lock['shots'])} locked")
    doc = json.loads(out.read_text())
    return Run(
        shots,
        wall,
        doc["wall"],
        doc["cpu"],
        doc["seconds"],
        doc["calls"],
        doc["hooked"],
        detail=doc["detail"],
        detail_cpu=doc["detail_cpu"],
        detail_calls=doc["detail_calls"],
        bookkeeping_cpu=doc["bookkeeping_cpu"],
        main_cpu=doc["main_cpu"],
    )


def measure(tmp: Path, sizes: tuple[int, ...], jobs: int, runs: int) -> dict[int, Run]:
    """The median run (by wall time) of each size, sizes alternating run by run."""
    got: dict[int, list[Run]] = defaultdict(list)
    with emulator_process() as url:
        for i in range(runs):
            for n in sizes:
                got[n].append(first_build(tmp / f"first-{n}-{i}", url, n, jobs))
    return {n: sorted(r, key=lambda r: r.wall)[len(r) // 2] for n, r in got.items()}


def describe(run: Run) -> str:
    parts = ", ".join(
        f"{k} {v * 1000:.0f} ms ({run.calls.get(k, 0)} calls)"
        for k, v in run.seconds.items()
        if k not in APART
    )
    return (
        f"{run.shots} shots: {run.wall:.2f} s wall ({run.wall * 1000 / run.shots:.1f} ms/shot),"
        f" CPU {run.cpu:.2f} s ({run.cpu * 1000 / run.shots:.1f} ms/shot),"
        f" bookkeeping {run.bookkeeping:.2f} s = {run.share * 100:.1f} % of main(): {parts};"
        f" CPU of the build's thread: bookkeeping {run.bookkeeping_cpu:.2f} s of main()'s"
        f" {run.main_cpu:.2f} s = {run.cpu_share * 100:.1f} %; apart (not bookkeeping):"
        f" blob files {run.apart * 1000:.0f} ms = {run.apart / run.inside * 100:.1f} %"
    )


def details(run: Run, top: int = 12) -> str:
    """The functions that took the most bookkeeping time, outermost calls only."""
    most = sorted(run.detail.items(), key=lambda kv: -kv[1])[:top]
    return "\n".join(
        f"  {v * 1000:8.0f} ms (CPU {run.detail_cpu.get(name, 0) * 1000:.0f} ms,"
        f" {run.detail_calls.get(name, 0)} calls)  {name}"
        for name, v in most
    )


def main() -> int:
    if sys.argv[1:] == ["--emulator"]:
        return serve_emulator()
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(Path(sys.argv[2]), sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--detail", action="store_true", help="the time of each function")
    parser.add_argument("--top", type=int, default=12, help="how many functions --detail shows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shotbuild-bench-first-") as tmp:
        runs = measure(Path(tmp), tuple(args.shots), args.jobs, args.runs)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for run in runs.values():
        print(describe(run))
        if args.detail:
            print(details(run, args.top))
    small, big = min(runs), max(runs)
    ratio = runs[big].wall / runs[small].wall
    cpu = runs[big].cpu / runs[small].cpu
    print(
        f"{big} vs {small} shots: {ratio:.2f}x the time, {cpu:.2f}x the CPU"
        f" (linear: {big / small:.2f}x)"
    )
    print("timed: " + ", ".join(sorted(set(runs[big].hooked))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
