"""How fast the preview renderer is: seconds of wall time per second of video.

Run by hand: `python bench/bench_preview.py [--runs N]`. For each size it renders
a 10 s preview of a realistic card (with two reference images) after a warm-up,
takes the median of N runs, and prints it beside a baseline measured in the same
run: PyAV alone encoding the same number of blank frames with the same encoder
settings, so the cost of drawing the card is visible. Target: a 10 s 1080p
preview in under 2 s of wall time. Last, 8 such 1080p previews rendered in one
process and in a pool of one process per CPU, as the build runs them."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from shotbuild.preview import Card, render_mp4
from shotbuild.preview import render as rendering

TARGET_SECONDS = 2.0  # for a 10 s 1080p preview
DURATION = 10
PROMPT = (
    "A founder walks through a sunlit startup office, gesturing toward a whiteboard, "
    "shot handheld in a documentary style."
)
SIZES = [("720p", "16:9"), ("1080p", "16:9"), ("1080p", "9:16")]


def blank_encode(card: Card, out: Path) -> None:
    """The baseline: PyAV encoding the same number of frames of a blank picture."""
    frame = rendering.to_yuv(Image.new("RGB", card.size, rendering.BG))
    frame.time_base = Fraction(1, rendering.FPS)
    with av.open(str(out), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = rendering.open_stream(container, rendering.Metrics(*card.size))
        for i in range(round(card.duration * rendering.FPS)):
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def median_seconds(job: Callable[[Card, Path], None], card: Card, out: Path, runs: int) -> float:
    job(card, out)  # warm-up: imports, font loading, page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job(card, out)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parallel_seconds(card: Card, tmp: Path, shots: int, workers: int) -> float:
    """Wall time of rendering `shots` previews in a pool of `workers` processes."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        list(pool.map(render_mp4, [card] * workers, [tmp / f"w{i}.mp4" for i in range(workers)]))
        start = time.perf_counter()
        list(pool.map(render_mp4, [card] * shots, [tmp / f"p{i}.mp4" for i in range(shots)]))
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, PyAV {av.__version__}, {os.cpu_count()} CPUs, "
        f"{rendering.FPS} fps, x264 {rendering.X264_OPTIONS}"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'size':<14} {'render s':>9} {'s per s':>8} {'blank s':>8} {'drawing':>8} {'vs 2 s':>7}"
    )
    pooled_line = ""
    with tempfile.TemporaryDirectory() as tmp:
        refs = (Path(tmp) / "ref1.jpg", Path(tmp) / "ref2.png")
        Image.new("RGB", (1600, 900), (200, 150, 90)).save(refs[0])
        Image.new("RGB", (900, 1600), (60, 120, 200)).save(refs[1])
        for resolution, aspect_ratio in SIZES:
            card = Card(
                "office-walk",
                PROMPT,
                ("look_founder", "look_cofounder"),
                aspect_ratio,
                resolution,
                DURATION,
                images=refs,
            )
            out = Path(tmp) / "out.mp4"
            rendered = median_seconds(render_mp4, card, out, args.runs)
            blank = median_seconds(blank_encode, card, out, args.runs)
            w, h = card.size
            print(
                f"{f'{resolution} {w}x{h}':<14} {rendered:>9.3f} {rendered / DURATION:>8.3f} "
                f"{blank:>8.3f} {rendered - blank:>+8.3f} {rendered / TARGET_SECONDS:>6.2f}x"
            )
            if (resolution, aspect_ratio) == ("1080p", "16:9"):
                shots = 8
                serial = parallel_seconds(card, Path(tmp), shots, 1)
                pooled = parallel_seconds(card, Path(tmp), shots, os.cpu_count() or 1)
                pooled_line = (
                    f"{shots} x 10 s 1080p previews: {serial:.2f} s in 1 process, {pooled:.2f} s "
                    f"in a pool of {os.cpu_count()} ({serial / pooled:.2f}x)"
                )
    print(pooled_line)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"(median of {args.runs} runs after a warm-up; 'vs 2 s' below 1 meets the target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
