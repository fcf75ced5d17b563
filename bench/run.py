"""Every shotbuild benchmark in one command: a table of figures, each a ratio
against a baseline measured in the same run, written to BENCHMARKS.md.

Run by hand (never in CI's test run), from the repository with the dev extra:
    .venv/bin/python bench/run.py                  # everything, writes BENCHMARKS.md
    .venv/bin/python bench/run.py --quick          # fewer runs, smaller sizes (a try-out)
    .venv/bin/python bench/run.py --only hash      # one figure group (repeatable)
    .venv/bin/python bench/run.py --soak           # also the slow soak tests, into the file
Medians of several runs after a warm-up. Heavy: run it alone on the machine."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    API_KEY,
    PY,
    REPO,
    Figure,
    build_cmd,
    cpu_run,
    emulator,
    fresh_env,
    load_average,
    machine,
    median_after_warmup,
    peak_rss_mb,
    short_spec,
    timed_run,
)

BIN = Path(PY).parent
MiB = 1024 * 1024


class Settings(argparse.Namespace):
    quick: bool = False
    tmp: Path = Path()

    @property
    def runs(self) -> int:
        return 3 if self.quick else 7


# -- 1. validate ----------------------------------------------------------------------


def fig_validate(s: Settings) -> list[Figure]:
    import bench_validate

    shots = 1000
    spec = s.tmp / "validate" / "shots.yaml"
    spec.parent.mkdir()
    spec.write_text(bench_validate.spec_text(shots), encoding="utf-8")
    m = bench_validate.measure(bench_validate.commands_for(spec), s.runs)
    command = "python bench/run.py --only validate; or python bench/bench_validate.py"
    theirs = m.ratio("ours", "theirs")
    figures = [
        Figure(
            f"validate {shots}-shot spec",
            f"{m.wall('ours') * 1000:.0f} ms",
            f"check-jsonschema {m.wall('theirs') * 1000:.0f} ms",
            theirs,
            "<= 0.5",
            theirs <= 0.5,
            command,
            ["the ratio: the median over the rounds of one round's two times"],
        )
    ]
    if "floor" not in m.walls:
        print("   (floor not measured: pip install fastjsonschema, the bench extra)")
        return figures
    ratio, cpu = m.ratio("ours", "floor"), m.ratio("ours", "floor", cpu=True)
    figures.append(
        Figure(
            f"validate {shots}-shot spec vs the floor",
            f"{m.wall('ours') * 1000:.0f} ms",
            f"CSafeLoader + fastjsonschema {m.wall('floor') * 1000:.0f} ms",
            ratio,
            "<= 0.9",
            ratio <= 0.9,
            command,
            [
                "the floor: one Python process that parses the file with yaml.CSafeLoader and"
                " checks it with a fastjsonschema-compiled validator of the same schema (no"
                " positions, no rules, one yes/no); both as subprocesses, start-up included;"
                " the ratio is the median over the rounds of one round's two wall times, the"
                " figure bench_validate.py prints too",
                f"CPU time (user + sys, medians) on the same runs: {m.cpu('ours') * 1000:.0f} ms"
                f" vs {m.cpu('floor') * 1000:.0f} ms; per-round ratio {cpu:.2f} (steadier"
                " than wall time on a shared machine)",
            ],
        )
    )
    return figures


# -- 2. no-op build ---------------------------------------------------------------------


def _populated(s: Settings, shots: int) -> tuple[Path, dict[str, str]]:
    """A spec of `shots` shots built once against bench_noop's in-process fake API.
    The lock is written once at the end instead of after every shot (the engine
    rewrites the whole lock per finished shot: quadratic, see fig_first_build)."""
    import bench_noop

    folder = s.tmp / f"noop-{shots}"
    folder.mkdir()
    cache = folder / "cache"
    spec = bench_noop.write_spec(folder, shots)
    bench_noop.populate_once(spec, cache)
    return spec, fresh_env(cache, HEYGEN_BASE_URL=bench_noop.ORIGIN)


def _parse_floor(spec: Path) -> list[str]:
    return [PY, "-c", f"import yaml; yaml.load(open({str(spec)!r}), Loader=yaml.CSafeLoader)"]


def _noop_runs(s: Settings, spec: Path, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """(wall, CPU) medians of the parse floor, the no-op build answered from its record,
    and the same build without the record (removed before each run), alternating."""
    import bench_noop

    record = Path(env["SHOTBUILD_CACHE_DIR"]) / "noop"
    commands = {"floor": _parse_floor(spec), "record": build_cmd(spec), "none": build_cmd(spec)}

    def one(name: str) -> tuple[float, float]:
        if name == "none":
            shutil.rmtree(record, ignore_errors=True)
        return cpu_run(commands[name], env)

    bench_noop.settle_record(spec, env)  # the record written, its stamps old enough
    for name in commands:
        one(name)  # warm-up
    one("record")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(s.runs):
        for name in commands:
            runs[name].append(one(name))
    bench_noop.settle_record(spec, env)
    return {
        name: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
        for name, got in runs.items()
    }


def fig_noop(s: Settings) -> list[Figure]:
    sizes = (1000, 3000) if s.quick else (1000, 10000)
    targets = {sizes[0]: 0.5, sizes[1]: 0.35}
    command = "python bench/run.py --only noop; or python bench/bench_noop.py {n}"
    figures: list[Figure] = []
    for n in sizes:
        spec, env = _populated(s, n)
        check = subprocess.run(build_cmd(spec), env=env, capture_output=True, text=True)
        if check.returncode != 0 or f"{n} up to date" not in check.stderr:
            sys.exit(f"bench: the no-op build of {n} shots is not a no-op:\n{check.stderr[-1500:]}")
        m = _noop_runs(s, spec, env)
        (fw, fc), (rw, rc), (nw, nc) = m["floor"], m["record"], m["none"]
        cpu = (
            f"CPU time (user + sys, medians of the same runs): {rc * 1000:.0f} ms vs"
            f" {fc * 1000:.0f} ms, {rc / fc:.2f}x"
        )
        figures.append(
            Figure(
                f"no-op build, {n:,} shots (from the no-op record)",
                f"{rw * 1000:.0f} ms",
                f"CSafeLoader parse {fw * 1000:.0f} ms",
                rw / fw,
                f"<= {targets[n]}",
                rw / fw <= targets[n],
                command.format(n=n),
                [cpu],
            )
        )
        figures.append(
            Figure(
                f"no-op build, {n:,} shots, without the record",
                f"{nw * 1000:.0f} ms",
                f"CSafeLoader parse {fw * 1000:.0f} ms",
                nw / fw,
                "<= 1.9",
                nw / fw <= 1.9,
                command.format(n=n),
                [
                    "the record removed before each run (a first run, or a changed spec):"
                    " parse, schema, keys, plan, and the record written again",
                    f"CPU time: {nc * 1000:.0f} ms vs {fc * 1000:.0f} ms, {nc / fc:.2f}x",
                ],
            )
        )
        if n == sizes[1]:
            figures.append(_noop_memory(spec, env, n))
    return figures


def _noop_memory(spec: Path, env: dict[str, str], n: int) -> Figure:
    """Peak RSS of the no-op build without its record (the parse, the model, the plan)
    and with it, against the parse floor's."""
    record = Path(env["SHOTBUILD_CACHE_DIR"]) / "noop"
    floor, _ = peak_rss_mb(_parse_floor(spec), env)
    with_record, _ = peak_rss_mb(build_cmd(spec), env)
    shutil.rmtree(record, ignore_errors=True)
    without, _ = peak_rss_mb(build_cmd(spec), env)
    return Figure(
        f"peak RSS, no-op build of {n:,} shots without the record",
        f"{without:.0f} MiB",
        f"CSafeLoader parse {floor:.0f} MiB",
        without / floor,
        "<= 1.6",
        without / floor <= 1.6,
        "python bench/run.py --only noop",
        [
            f"from the record: {with_record:.0f} MiB ({with_record / floor:.2f}x)",
            "the spec keeps its text for positions (parsed again if an error needs one),"
            " not the parse tree",
        ],
    )


def fig_first_build(s: Settings) -> list[Figure]:
    """A first build of new shots against the zero-latency emulator (its own process):
    linear growth, and the share of bookkeeping (see bench_firstbuild)."""
    import bench_firstbuild

    small, big = (300, 900) if s.quick else (1000, 3000)
    runs = bench_firstbuild.measure(s.tmp, (small, big), jobs=16, runs=1)
    a, b = runs[small], runs[big]
    ratio, most = b.wall / a.wall, 1.1 * big / small
    command = "python bench/run.py --only first_build; or python bench/bench_firstbuild.py"
    notes = [
        f"CPU time of the build (user + sys, same runs): {b.cpu / a.cpu:.2f}x (wall time"
        " swings with the shared machine's load; `uptime` is printed before each figure)",
        bench_firstbuild.describe(a),
        bench_firstbuild.describe(b),
        "bookkeeping: timing counters a bench-only hook wraps around the engine's lock,"
        " manifest, job-record, jobs-in-flight and cache-index functions and every call"
        " into the diskcache index itself (its COMMITs included; outermost call only), over"
        " the CLI's main() in the same child process; not counted: HTTP round trips, the"
        " download (its temporary file and rename into blobs/ are shown apart), the copy"
        " into build/",
        "one run of each size, -j 16; the emulator serves placeholder videos from its own process",
    ]
    return [
        Figure(
            f"first build, {big} vs {small} new shots (zero-latency emulator)",
            f"{b.wall:.1f} s",
            f"{small} shots {a.wall:.1f} s",
            ratio,
            f"<= {most:.1f} (linear)",
            ratio <= most,
            command,
            notes,
        ),
        Figure(
            f"first build of {big} shots: bookkeeping share of wall",
            f"{b.bookkeeping:.2f} s",
            f"main() {b.inside:.1f} s",
            b.share,
            "<= 0.10",
            b.share <= 0.10,
            command,
            [
                f"at {small} shots: {a.share * 100:.1f} %",
                f"CPU share of the build's thread (load-independent check): {b.cpu_share:.2f}"
                f" at {big} shots, {a.cpu_share:.2f} at {small}",
            ],
        ),
    ]


# -- 3. hashing local media ----------------------------------------------------------------


def fig_hash(s: Settings) -> list[Figure]:
    from shotbuild.keys import StatCachedHasher
    from shotbuild.store.cache import Cache

    size = (256 if s.quick else 1024) * MiB
    runs = 3 if s.quick else 5
    folder = Path(tempfile.mkdtemp(prefix="shotbuild-bench-hash-", dir="/tmp"))
    try:
        media = folder / "reference.mp4"
        block = os.urandom(4 * MiB)
        with media.open("wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
        expected = subprocess.run(
            ["sha256sum", str(media)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        caches = iter(range(1000))

        def cold() -> float:
            with Cache(folder / f"cache-{next(caches)}") as cache:  # empty: not in the stat cache
                hasher = StatCachedHasher(cache.stat_load, cache.stat_save)
                start = time.perf_counter()
                digest = hasher(media)
                elapsed = time.perf_counter() - start
            assert digest == expected and hasher.reads == 1
            return elapsed

        def theirs() -> float:
            return timed_run(["sha256sum", str(media)])

        cold(), theirs()  # warm-up; the file is also in the OS page cache from here on
        ours_t, theirs_t = [], []
        for _ in range(runs):
            ours_t.append(cold())
            theirs_t.append(theirs())
        ours_s, theirs_s = statistics.median(ours_t), statistics.median(theirs_t)
        with Cache(folder / "cache-warm") as cache:
            hasher = StatCachedHasher(cache.stat_load, cache.stat_save)
            hasher(media)
            warm_t = []
            for _ in range(max(runs, 20)):
                start = time.perf_counter()
                hasher(media)
                warm_t.append(time.perf_counter() - start)
            assert hasher.reads == 1  # unchanged media is never read again
        warm = statistics.median(warm_t)
        openssl = None
        if shutil.which("openssl"):
            openssl = median_after_warmup(
                lambda: timed_run(["openssl", "dgst", "-sha256", str(media)]), runs
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    gb = size / 1e9
    ratio = theirs_s / ours_s  # throughput ratio: ours / sha256sum's
    page_cache = (
        "the OS page cache was warm for both (file written, then one warm-up read each; "
        f"{size // MiB} MiB fits in RAM): this compares hashing, not disk reads"
    )
    notes = [page_cache]
    if openssl is not None:
        notes.append(
            f"for reference, `openssl dgst -sha256` on the same file: {gb / openssl:.2f} GB/s;"
            " sha256sum (coreutils) here hashes at a fraction of that (it appears not to use the"
            " CPU's SHA extensions; Python's hashlib calls OpenSSL)"
        )
    return [
        Figure(
            f"hash {size // MiB} MiB local media, cold stat cache (throughput)",
            f"{gb / ours_s:.2f} GB/s ({ours_s:.2f} s)",
            f"sha256sum {gb / theirs_s:.2f} GB/s ({theirs_s:.2f} s)",
            ratio,
            ">= 0.9",
            ratio >= 0.9,
            "python bench/run.py --only hash",
            notes,
        ),
        Figure(
            "re-hash unchanged media (stat cache hit)",
            f"{warm * 1e6:.0f} us",
            f"cold hash {ours_s * 1000:.0f} ms",
            warm / ours_s,
            "near 0, no re-read",
            warm / ours_s < 0.01,
            "python bench/run.py --only hash",
            ["reads counted by StatCachedHasher.reads: 1 for the first call, 0 after"],
        ),
    ]


# -- 4. scheduling against the emulator -----------------------------------------------------


def fig_polling(s: Settings) -> list[Figure]:
    """The poll schedule simulated over render lengths of 2 s - 10 min (instant)."""
    import bench_polling

    old, new = bench_polling.simulate()
    lo, hi = bench_polling.SHORTEST, bench_polling.LONGEST
    at = ", ".join(f"L={x:g} s: {new.at[x]:.2f}x (old {old.at[x]:.2f}x)" for x in new.at)
    return [
        Figure(
            f"poll schedule, worst case over L = {lo:g} s - {hi / 60:g} min (simulated)",
            f"{new.worst:.2f}x ideal",
            f"old schedule {old.worst:.2f}x",
            new.worst,
            "<= 1.15",
            new.worst <= 1.15,
            "python bench/run.py --only polling; or python bench/bench_polling.py --simulate",
            [
                "a render of length L is seen done at the first poll at or after L (a status"
                " call taking no time); the worst L lies just after a poll and is found there;"
                " ideal is L itself",
                f"polls per {hi / 60:g}-minute job: {new.polls_long} (old {old.polls_long});"
                " no schedule blind to L stays within 15 % with fewer than"
                " ln(300)/ln(1.15) = 41",
                f"at the measured lengths: {at}",
                "schedule (shotbuild/polling.py): at once, at 2 s, then 0.12 x age, at most"
                " 30 s apart (PRODUCT.md); old: waits of min(30, 2 + age/10)",
            ],
        ),
        _fig_poll_loop(),
    ]


def _fig_poll_loop() -> Figure:
    """The build's poll loop with its prior, simulated: 40 shots, C = 10, in waves."""
    import bench_polling

    sim = bench_polling.simulate_build()
    lo, hi = bench_polling.SHORTEST, bench_polling.LONGEST
    at = ", ".join(f"L={x:g} s: {r:.3f}x" for x, r in sim.at.items())
    return Figure(
        f"poll loop, 40 shots, C=10, worst over L = {lo:g} s - {hi / 60:g} min (simulated)",
        f"{sim.worst:.3f}x ideal",
        "ideal ceil(N/C)*L",
        sim.worst,
        "<= 1.15",
        sim.worst <= 1.15,
        "python bench/run.py --only polling; or python bench/bench_polling.py --simulate",
        [
            "shotbuild.build.poller on a fake clock, calls taking no time: four waves of ten"
            " jobs of length L, each wave created at once; the first wave is seen by the"
            " schedule alone, later ones also at the prior's points (the fastest render's"
            " window in quarters)",
            f"worst at L = {sim.worst_at:.2f} s; status calls per job there"
            f" {sim.calls_per_job:.2f} (batched: one call asks all ten), at {hi:g} s"
            f" {sim.calls_long:.2f}",
            f"at the measured lengths: {at}",
        ],
    )


def fig_schedule(s: Settings) -> list[Figure]:
    """N shots of latency L each against the emulator, account limit C = -j: the
    wall time against ideal ceil(N/C) x L. The fixed cost every build pays (start-up,
    parse, plan: the same build run again as a no-op) is measured in the same run and
    taken off before the ratio is judged; the raw ratio is in the notes."""
    import bench_polling

    n, c = (20, 10) if s.quick else (40, 10)
    cases = [(x, c) for x in ((2.05, 5.0) if s.quick else bench_polling.LATENCIES)]
    if not s.quick:
        cases.append((2.05, 2 * c))
    bench_polling.measure(2.05, c, c, s.tmp / "schedule-warmup")  # .pyc files, disk cache
    figures = []
    for latency, jobs in cases:
        runs = 3 if latency <= 5 and not s.quick else 1  # short ones: the median of three
        tries = [
            bench_polling.measure(latency, n, c, s.tmp / f"schedule-{latency}-{jobs}-{i}", jobs)
            for i in range(runs)
        ]
        m = sorted(tries, key=lambda t: t.ratio_net)[runs // 2]
        spread = ", ".join(f"{t.ratio_net:.2f}" for t in tries)
        notes = [
            f"{m.status_per_job:.2f} status requests per job ({m.batched_per_job:.2f} of them"
            f" batched, GET /v3/videos/statuses); raw ratio {m.ratio:.2f}x"
            f" ({m.wall:.2f} s); the no-op build of the same spec took {m.fixed:.2f} s;"
            + (f" the median of {runs} runs ({spread})" if runs > 1 else " one run")
            + f"; load {load_average()} after it"
        ]
        if jobs > c:
            notes.append(
                f"-j {jobs} over the account's limit {c}: the extra creates get 429 with"
                " Retry-After (whole seconds), and the build lowers its own limit"
            )
        figures.append(
            Figure(
                f"schedule {n} shots, L={latency:g} s, C={c}, -j {jobs}",
                f"{m.wall - m.fixed:.2f} s (+ {m.fixed:.2f} s fixed)",
                f"ideal ceil(N/C)*L = {m.ideal:g} s",
                m.ratio_net,
                "<= 1.15",
                m.ratio_net <= 1.15,
                f"python bench/run.py --only schedule; or python bench/bench_polling.py"
                f" --latency {latency:g} --shots {n} --limit {c}",
                notes,
            )
        )
    return figures


def _round_trips(url: str, count: int) -> float:
    """The median of `count` kept-alive GETs on one connection, in seconds."""
    import httpx

    times = []
    with httpx.Client(base_url=url, headers={"x-api-key": API_KEY}) as client:
        client.get("/v3/avatars/looks", params={"limit": 1})
        for _ in range(count):
            start = time.perf_counter()
            client.get("/v3/avatars/looks", params={"limit": 1}).raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def fig_emulator(s: Settings) -> list[Figure]:
    """A kept-alive round trip to the emulator, against the same app served from a
    socket made as before (proto=0: asyncio never set TCP_NODELAY)."""
    import socket

    import shotbuild.emulator.server as server

    count = 20 if s.quick else 100
    with emulator(latency=0.0) as emu:
        ours = _round_trips(emu.url, count)
    real_bind = server.bind

    def old_bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0: no NODELAY
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        return sock

    server.bind = old_bind
    try:
        with emulator(latency=0.0) as emu:
            before = _round_trips(emu.url, count)
    finally:
        server.bind = real_bind
    return [
        Figure(
            "emulator: kept-alive round trip (GET /v3/avatars/looks)",
            f"{ours * 1000:.2f} ms",
            f"without TCP_NODELAY {before * 1000:.1f} ms",
            ours / before,
            "< 5 ms",
            ours < 0.005,
            "python bench/run.py --only emulator",
            [
                f"medians of {count} requests on one connection; the baseline serves the same"
                " app from a socket made as before the fix (proto=0, so asyncio never set"
                " TCP_NODELAY and each answer waited for the client's delayed ACK)"
            ],
        )
    ]


# -- 5. memory --------------------------------------------------------------------------------


class _Stream:
    """A plain HTTP server streaming `size` generated bytes for any GET (the video_url)."""

    def __init__(self, size: int) -> None:
        import http.server
        import threading

        chunk = os.urandom(MiB)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                left = size
                while left:
                    piece = chunk[: min(left, len(chunk))]
                    self.wfile.write(piece)
                    left -= len(piece)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fig_memory(s: Settings) -> list[Figure]:
    size = (256 if s.quick else 1024) * MiB
    env0 = fresh_env(s.tmp / "mem-cache-0")
    base, _ = peak_rss_mb([PY, "-c", "import shotbuild.cli"], env0)
    stream = _Stream(size)
    try:
        with emulator(latency=0.0) as emu:
            world = emu.world
            world.video_url = lambda video_id, base_url: f"{stream.url}/{video_id}.mp4"
            folder = s.tmp / "mem-download"
            spec = short_spec(folder, 1)
            env = fresh_env(folder / "cache", HEYGEN_API_KEY=API_KEY, HEYGEN_BASE_URL=emu.url)
            download, wall = peak_rss_mb(build_cmd(spec), env)
            out = folder / "build" / "shot-000.mp4"
            assert out.stat().st_size == size, out.stat()
    finally:
        stream.close()
    shutil.rmtree(folder, ignore_errors=True)  # 2 GB: the cache blob and the output
    shots = 3000 if s.quick else 10000
    import bench_noop

    plan_dir = s.tmp / "mem-plan"
    plan_dir.mkdir()
    spec = bench_noop.write_spec(plan_dir, shots)
    plan_env = fresh_env(plan_dir / "cache", HEYGEN_BASE_URL=bench_noop.ORIGIN)
    planning, plan_wall = peak_rss_mb([PY, "-m", "shotbuild", "plan", str(spec)], plan_env)
    return [
        Figure(
            f"peak RSS, build downloading a {size // MiB} MiB output",
            f"{download:.0f} MiB",
            f"import shotbuild.cli {base:.0f} MiB",
            download / base,
            "< 150 MB",
            download * MiB < 150e6,
            "python bench/run.py --only memory",
            [f"download build took {wall:.1f} s ({size / MiB / wall:.0f} MiB/s incl. the copy)"],
        ),
        Figure(
            f"peak RSS, `shotbuild plan` of {shots} new shots",
            f"{planning:.0f} MiB",
            f"import shotbuild.cli {base:.0f} MiB",
            planning / base,
            "reported (no number set)",
            None,
            "python bench/run.py --only memory",
            [
                f"plan of {shots} shots took {plan_wall:.1f} s; about"
                f" {(planning - base) * 1024 / shots:.1f} KiB per shot over the bare import"
                " (the parsed spec, keys and plan items are held in memory: linear, not flat)"
            ],
        ),
    ]


# -- 6. preview rendering and the remote cache ---------------------------------------------


def fig_preview(s: Settings) -> list[Figure]:
    import bench_preview
    from PIL import Image

    from shotbuild.preview import Card, render_mp4

    runs = 2 if s.quick else 5
    folder = s.tmp / "preview"
    folder.mkdir()
    refs = (folder / "ref1.jpg", folder / "ref2.png")
    Image.new("RGB", (1600, 900), (200, 150, 90)).save(refs[0])
    Image.new("RGB", (900, 1600), (60, 120, 200)).save(refs[1])
    card = Card(
        "office-walk",
        bench_preview.PROMPT,
        ("look_founder", "look_cofounder"),
        "16:9",
        "1080p",
        bench_preview.DURATION,
        images=refs,
    )
    out = folder / "out.mp4"
    rendered = bench_preview.median_seconds(render_mp4, card, out, runs)
    blank = bench_preview.median_seconds(bench_preview.blank_encode, card, out, runs)
    return [
        Figure(
            "preview: render a 10 s 1080p animatic",
            f"{rendered:.2f} s",
            f"target 2 s (blank-frame encode {blank:.2f} s)",
            rendered / bench_preview.TARGET_SECONDS,
            "<= 1 (under 2 s)",
            rendered <= bench_preview.TARGET_SECONDS,
            "python bench/run.py --only preview; or python bench/bench_preview.py",
            [f"drawing the card costs {rendered - blank:+.2f} s over encoding blank frames"],
        )
    ]


def fig_sequences(s: Settings) -> list[Figure]:
    import bench_sequences

    shots, seconds = (8, 4) if s.quick else (20, 4)
    folder = s.tmp / "sequences"
    folder.mkdir()
    r = bench_sequences.measure(folder, shots, seconds, 2 if s.quick else 3)
    command = "python bench/run.py --only sequences; or python bench/bench_sequences.py"
    members = f"{shots} members, {r.seconds:g} s of 720p25 H.264 + AAC"
    return [
        Figure(
            f"assemble a {shots}-shot cut by stream copy (remux)",
            f"{r.remux:.2f} s",
            f"playback {r.seconds:g} s",
            r.ratio(r.remux),
            "<= 0.05",
            r.ratio(r.remux) <= 0.05,
            command,
            [
                members,
                f"end to end (plan, hash, probe, remux, atomic copy, OTIO/FCP XML/EDL):"
                f" {r.end_to_end:.2f} s, real-time ratio {r.ratio(r.end_to_end):.3f}",
            ],
        ),
        Figure(
            f"assemble a {shots}-shot cut by re-encode (x264 veryfast)",
            f"{r.reencode:.2f} s",
            f"playback {r.seconds:g} s",
            r.ratio(r.reencode),
            "< 1 (faster than real time)",
            r.ratio(r.reencode) < 1,
            command,
            [members, f"re-encode vs remux: {r.reencode / r.remux:.0f}x the wall time"],
        ),
    ]


def fig_remote(s: Settings) -> list[Figure]:
    shots = 30 if s.quick else 100
    runs = 1 if s.quick else 3
    with emulator(latency=0.0, concurrency=1000) as emu:
        remote = f"file://{s.tmp / 'remote-cache'}"
        a = s.tmp / "machine-a"
        spec = short_spec(a, shots)
        env = fresh_env(
            a / "cache",
            HEYGEN_API_KEY=API_KEY,
            HEYGEN_BASE_URL=emu.url,
            SHOTBUILD_REMOTE_CACHE=remote,
            SHOTBUILD_REMOTE_CACHE_MODE="readwrite",
        )
        timed_run(build_cmd(spec, "-j", "16"), env)
        after_a = emu.stats()
        assert after_a["jobs"] == shots, after_a

        def machine_b(i: int, with_remote: bool) -> float:
            b = s.tmp / f"machine-b-{int(with_remote)}-{i}"
            b.mkdir()
            for name in ("shots.yaml", "shots.lock"):  # a fresh clone: spec and lock only
                shutil.copy(a / name, b / name)
            extra = {"HEYGEN_API_KEY": API_KEY, "HEYGEN_BASE_URL": emu.url}
            if with_remote:
                extra |= {"SHOTBUILD_REMOTE_CACHE": remote, "SHOTBUILD_REMOTE_CACHE_MODE": "read"}
            before = emu.stats()
            wall = timed_run(
                build_cmd(b / "shots.yaml", "-j", "16"), fresh_env(b / "cache", **extra)
            )
            after = emu.stats()
            assert after["creates_total"] == before["creates_total"], "machine B created a job"
            if with_remote:
                assert after["downloads"] == before["downloads"], "remote restore downloaded"
                assert after["status_calls"] == before["status_calls"]
            assert len(list((b / "build").glob("*.mp4"))) == shots
            return wall

        walls: dict[bool, list[float]] = {True: [], False: []}
        for i in range(runs + 1):  # the first pair is a warm-up
            for with_remote in (True, False):
                wall = machine_b(i, with_remote)
                if i:
                    walls[with_remote].append(wall)
        final = emu.stats()
    remote_t, api_t = statistics.median(walls[True]), statistics.median(walls[False])
    return [
        Figure(
            f"restore {shots} shots on a fresh clone: remote cache vs lock (API)",
            f"{remote_t:.2f} s",
            f"API restore {api_t:.2f} s",
            remote_t / api_t,
            "< 1, zero creates",
            remote_t < api_t,
            "python bench/run.py --only remote",
            [
                "both restores: zero creates (emulator jobs stayed at "
                f"{final['jobs']} = machine A's {shots}); remote restores: zero API downloads "
                "and zero status requests",
                "emulator latency 0 and 127.0.0.1: the API restore is as fast as it can ever be",
            ],
        )
    ]


FIGURES: dict[str, Callable[[Settings], list[Figure]]] = {
    "validate": fig_validate,
    "noop": fig_noop,
    "first_build": fig_first_build,
    "hash": fig_hash,
    "polling": fig_polling,
    "schedule": fig_schedule,
    "emulator": fig_emulator,
    "memory": fig_memory,
    "preview": fig_preview,
    "remote": fig_remote,
    "sequences": fig_sequences,
}


# -- output -------------------------------------------------------------------------------------


def _rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    """The header and one row per figure, shared by the terminal and markdown tables."""
    rows: list[tuple[str, ...]] = [("figure", "value", "baseline", "ratio", "target", "met?")]
    rows += [
        (
            f.name,
            f.value,
            f.baseline,
            f"{f.ratio:.2f}" if f.ratio is not None else "-",
            f.target,
            f.verdict,
        )
        for f in figures
    ]
    return rows


def table(figures: list[Figure]) -> list[str]:
    rows = _rows(figures)
    return ["| " + " | ".join(row) + " |" for row in rows[:1]] + [
        "|" + "---|" * 6,
        *("| " + " | ".join(row) + " |" for row in rows[1:]),
    ]


def print_table(figures: list[Figure]) -> None:
    rows = _rows(figures)
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    for f in figures:
        for note in f.notes:
            print(f"  - {f.name}: {note}")


SOAK_LONG = {  # the long version, by hand
    "SHOTBUILD_SOAK_CRASH_TRIALS": "30",
    "SHOTBUILD_SOAK_FAULT_TRIALS": "3",
    "SHOTBUILD_SOAK_CONCURRENCY_TRIALS": "10",
    "SHOTBUILD_SOAK_EXAMPLES": "5000",
}


def run_soak() -> str:
    """The slow soak tests, their one-line summaries collected through a file."""
    report = Path(tempfile.mkstemp(prefix="shotbuild-soak-", suffix=".jsonl")[1])
    env = {**os.environ, **SOAK_LONG, "SHOTBUILD_SOAK_REPORT": str(report)}
    cmd = [PY, "-m", "pytest", "-q", "-m", "slow", "-p", "no:cacheprovider", "tests/soak"]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    lines = [json.loads(x) for x in report.read_text().splitlines() if x.strip()]
    report.unlink()
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    out = [
        "Command: `"
        + " ".join(f"{k}={v}" for k, v in SOAK_LONG.items())
        + f" python -m pytest -m slow tests/soak` "
        f"({elapsed:.0f} s): {tail}",
        "",
    ]
    out += [f"- **{x['test']}**: {x['summary']}" for x in lines]
    return "\n".join(out)


def previous_soak(path: Path) -> str | None:
    """The soak section of an earlier BENCHMARKS.md, kept when only the benches ran."""
    text = path.read_text(encoding="utf-8")
    if "## Reliability soak" not in text or "(not run with this command" in text:
        return None
    section = text.split("## Reliability soak", 1)[1].strip()
    first = text.splitlines()[2] if len(text.splitlines()) > 2 else ""
    when = first.split(" with ")[0].replace("Measured", "measured")
    return f"(Kept from the earlier run, {when}.)\n\n{section}"


def write_markdown(
    path: Path, figures: list[Figure], info: dict[str, str], soak: str | None, argv: str
) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# shotbuild benchmarks",
        "",
        f"Measured {when} at commit {commit or '?'} with `{argv}` (medians of several runs"
        " after a warm-up; each figure is a ratio against a baseline measured in the same run).",
        "",
        "Machine: "
        + ", ".join(f"{k} {v}" for k, v in info.items() if k != "load average")
        + f"; load average at start: {info['load average']}, at end: {load_average()}"
        " (the machine is shared: other engineers' tests ran too).",
        "",
        *table(figures),
        "",
        "## How each figure is measured, and notes",
        "",
    ]
    for f in figures:
        lines.append(f"- **{f.name}** (`{f.command}`)" + (":" if f.notes else ""))
        lines += [f"  - {note}" for note in f.notes]
    missed = [f for f in figures if f.met is False]
    lines += ["", "## Targets not met", ""]
    for f in missed:
        lines.append(
            f"- **{f.name}**: {f.value} vs {f.baseline} (target {f.target}). What limits it:"
        )
        lines += [f"  - {note}" for note in f.notes]
    if not missed:
        lines.append("- none")
    lines += [
        "",
        "## Reliability soak",
        "",
        soak or "(not run with this command: add `--soak`)",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(FIGURES), default=[])
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller sizes")
    parser.add_argument(
        "--soak", action="store_true", help="also run the long version of the soak tests"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="markdown file (default: BENCHMARKS.md on a full run, none otherwise)",
    )
    s = parser.parse_args(namespace=Settings())
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    names = s.only or list(FIGURES)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="shotbuild-bench-") as tmp:
        s.tmp = Path(tmp)
        for name in names:
            start = time.perf_counter()
            print(f"== {name} (load {load_average()})", flush=True)
            got = FIGURES[name](s)
            print_table(got)
            print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
            figures += got
    soak = run_soak() if s.soak else None
    out = s.out or (REPO / "BENCHMARKS.md" if not s.only and not s.quick else None)
    if soak is None and out is not None and out.exists():
        soak = previous_soak(out)
    if soak:
        print(soak)
    print()
    print_table(figures)
    if out is not None:
        write_markdown(out, figures, info, soak, "python bench/run.py " + " ".join(sys.argv[1:]))
        print(f"wrote {out}")
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
