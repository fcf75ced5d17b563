"""How fast a cut is assembled: wall time against the members' summed duration
(the real-time ratio; 0.01 means 100x faster than watching it).

Run by hand: `python bench/bench_sequences.py [--shots 20] [--seconds 4] [--runs 3]`.
Members are made like real renders, not like animatics: 1280x720 H.264 at 25 fps
with moving content (FFmpeg's testsrc2) and a stereo AAC track. Then the same
20-shot cut is assembled three ways, each the median of N runs after a warm-up:
  - remux: the stream copy (no trims, one codec), as `build` does it;
  - re-encode: the same cut decoded and encoded again (x264 veryfast), which a
    trim off a keyframe or mixed members need;
  - assemble_all end to end (plan, hash, probe, remux, copy into place, exports)."""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
from av.video.frame import PictureType

from shotbuild.sequences import assemble_all, media, remove_outputs
from shotbuild.spec import load_spec

WIDTH, HEIGHT, FPS, AUDIO_RATE = 1280, 720, 25, 48000


@dataclass(frozen=True)
class Result:
    shots: int
    seconds: float  # summed duration of the members
    remux: float
    reencode: float
    end_to_end: float

    def ratio(self, wall: float) -> float:
        return wall / self.seconds


def _graph(*chain: tuple[str, str]) -> Any:
    graph = av.filter.Graph()
    nodes = [graph.add(name, args) for name, args in chain]
    for a, b in itertools.pairwise(nodes):
        a.link_to(b)
    graph.configure()
    return graph


def _pull_all(graph: Any) -> list[Any]:
    frames = []
    while True:
        try:
            frames.append(graph.pull())
        except av.EOFError:
            return frames


def make_member(path: Path, seconds: int, index: int) -> None:
    """A render-like clip: moving test pattern (offset per shot) and a tone."""
    pictures = _graph(
        ("testsrc2", f"size={WIDTH}x{HEIGHT}:rate={FPS}:duration={seconds}"),
        ("hue", f"h={index * 37}"),
        ("format", "yuv420p"),
        ("buffersink", ""),
    )
    tone = _graph(
        ("sine", f"frequency={220 + 20 * index}:sample_rate={AUDIO_RATE}:duration={seconds}"),
        ("aformat", "sample_fmts=fltp:channel_layouts=stereo"),
        ("abuffersink", ""),
    )
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.codec_context.gop_size = FPS * 2
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for i, frame in enumerate(_pull_all(pictures)):
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            frame.pict_type = PictureType.NONE  # testsrc2 marks every frame I: let x264 choose
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = 0
        for frame in _pull_all(tone):
            frame.pts, frame.time_base = samples, Fraction(1, AUDIO_RATE)
            samples += frame.samples
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))


def median(job: Callable[[], None], runs: int) -> float:
    job()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def spec_text(shots: int, seconds: int) -> str:
    lines = ["defaults:", "  avatar_id: [look_a]", "  auto_duration: true", "shots:"]
    lines += [f"  s{i:02d}: {{prompt: shot {i}}}" for i in range(shots)]
    members = ", ".join(f"s{i:02d}" for i in range(shots))
    lines += ["sequences:", f"  film: {{shots: [{members}]}}", ""]
    return "\n".join(lines)


def measure(folder: Path, shots: int, seconds: int, runs: int) -> Result:
    files = {}
    for i in range(shots):
        files[f"s{i:02d}"] = folder / f"s{i:02d}.mp4"
        make_member(files[f"s{i:02d}"], seconds, i)
    probes = [media.probe(p) for p in files.values()]
    segments = [media.segment(p, None, None, p.path.stem) for p in probes]
    total = float(sum(s.length for s in segments))
    out = folder / "out.mp4"
    remux = median(lambda: media.remux(segments, out), runs)
    reencode = median(lambda: media.reencode(segments, None, out), max(1, runs // 2))
    spec_path = folder / "shots.yaml"
    spec_path.write_text(spec_text(shots, seconds))
    spec = load_spec(spec_path)

    def end_to_end() -> None:
        remove_outputs(spec, spec.build_dir)  # as `clean` does: assembled again every run
        (result,) = assemble_all(spec, spec.build_dir, files)
        assert result.method == media.REMUX, result

    return Result(shots, total, remux, reencode, median(end_to_end, runs))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="shotbuild-bench-seq-") as tmp:
        r = measure(Path(tmp), args.shots, args.seconds, args.runs)
    print(f"{r.shots} members, {r.seconds:g} s of 720p25 H.264 + AAC in all")
    for name, wall in (("remux", r.remux), ("re-encode", r.reencode), ("end to end", r.end_to_end)):
        print(f"  {name:<11} {wall:7.2f} s   real-time ratio {r.ratio(wall):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
