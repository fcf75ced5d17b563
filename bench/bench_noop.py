"""No-op build of a 1,000-shot spec vs. a bare YAML parse of it (issue 16: <= 0.5x
from the no-op record at 1,000 shots, <= 0.35x at 10,000, <= 1.9x without it).

Run by hand: .venv/bin/python bench/bench_noop.py [SHOTS]
It writes a spec to a temporary folder, builds it once against an in-process
fake of the HeyGen API (no network), then times `shotbuild build` on it (a
no-op: every output is up to date), answered from its record and without it,
against `python -c` parsing the same YAML with yaml.CSafeLoader. Medians over
several runs after a warm-up."""

from __future__ import annotations

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

import httpx

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import BuildOptions, build
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache

ORIGIN = "https://api.bench-heygen.test"
RUNS = 7


def write_spec(folder: Path, shots: int) -> Path:
    lines = [
        "version: 1",
        "defaults:",
        "  avatar_id: [look_founder]",
        "  resolution: 1080p",
        "shots:",
    ]
    for i in range(shots):
        lines += [
            f"  shot-{i:04d}:",
            f"    prompt: Shot {i}, a founder walks through a sunlit office, handheld.",
            f"    duration: {4 + i % 12}",
            f"    title: Shot {i}",
        ]
    path = folder / "shots.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fake_api(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if request.url.host == "cdn.bench-heygen.test":
        return httpx.Response(200, content=f"video {path}".encode())
    if request.method == "POST":
        body = json.loads(request.content)
        return httpx.Response(200, json={"data": {"video_id": f"v{hash(body['prompt'])}"}})
    video_id = path.rsplit("/", 1)[1]
    url = f"https://cdn.bench-heygen.test/{video_id}.mp4"
    data = {"id": video_id, "status": "completed", "video_url": url, "duration": 4}
    return httpx.Response(200, json={"data": data})


async def no_sleep(seconds: float) -> None:
    return None


def populate(spec_path: Path) -> None:
    with Cache() as cache:
        backend = HeyGenBackend(
            ORIGIN,
            "bench-key",
            cache=cache,
            transport=httpx.MockTransport(fake_api),
            sleep=no_sleep,
        )
        result = build(
            load_spec(spec_path), backend, BuildOptions(jobs=32), cache=cache, sleep=no_sleep
        )
    assert result.exit_code == 0 and len(result.built) > 0, result.failed[:3]


def populate_once(spec_path: Path, cache: Path) -> None:
    """populate() into `cache` (the engine batches its lock writes itself now, so
    the first build is no longer quadratic in the lock's size)."""
    os.environ["SHOTBUILD_CACHE_DIR"] = str(cache)
    try:
        populate(spec_path)
    finally:
        del os.environ["SHOTBUILD_CACHE_DIR"]


def settle_record(spec_path: Path, env: dict[str, str]) -> None:
    """Wait until the files a no-op record stamps are older than noop.RACY_NS (a stamp
    younger than that is not trusted), then let a no-op build write the record."""
    from shotbuild import noop

    folder = spec_path.parent
    newest = max(p.stat().st_mtime_ns for p in (folder / "build", spec_path.with_suffix(".lock")))
    wait = (newest + noop.RACY_NS) / 1e9 - time.time() + 0.1
    if wait > 0:
        time.sleep(wait)
    cmd = [sys.executable, "-m", "shotbuild", "build", "-q", str(spec_path)]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    if not list((Path(env["SHOTBUILD_CACHE_DIR"]) / "noop").glob("*")):
        raise SystemExit("bench: the no-op build wrote no record")


def median_seconds(
    cmd: list[str], env: dict[str, str], before: Callable[[], object] = lambda: None
) -> float:
    before()
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(RUNS):
        before()
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} failed: {done.stderr}")
    return statistics.median(times)


def main() -> None:
    shots = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="shotbuild-bench-") as tmp:
        folder = Path(tmp)
        spec = write_spec(folder, shots)
        started = time.perf_counter()
        populate_once(spec, folder / "cache")
        print(f"first build of {shots} shots (fake API): {time.perf_counter() - started:.1f} s")
        cache = str(folder / "cache")
        env = {**os.environ, "HEYGEN_BASE_URL": ORIGIN, "SHOTBUILD_CACHE_DIR": cache}
        env.pop("HEYGEN_API_KEY", None)  # a no-op build needs no key
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # time what users run: cached bytecode
        parse = [
            sys.executable,
            "-c",
            f"import yaml; yaml.load(open({str(spec)!r}), Loader=yaml.CSafeLoader)",
        ]
        noop = [sys.executable, "-m", "shotbuild", "build", "-q", str(spec)]
        settle_record(spec, env)
        base = median_seconds(parse, env)
        ours = median_seconds(noop, env)
        record = folder / "cache" / "noop"
        without = median_seconds(noop, env, before=lambda: shutil.rmtree(record, True))
        print(f"python -c yaml.CSafeLoader parse: {base * 1000:.0f} ms (median of {RUNS})")
        print(f"shotbuild build (no-op, record):  {ours * 1000:.0f} ms, {ours / base:.2f}x")
        print(f"shotbuild build (no record):      {without * 1000:.0f} ms, {without / base:.2f}x")


if __name__ == "__main__":
    main()
