"""A cut's mp4, made with PyAV (the `preview` extra): a stream copy (remux) when
every member has the same codec parameters and each trim falls on a keyframe,
else a re-encode (H.264 yuv420p at the first member's frame rate and size, or
the sequence's `size`, letterboxed; audio kept when a member has it). Imported
only when a cut is assembled."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter

from shotbuild.errors import ShotbuildError

REMUX = "remux"
REENCODE = "re-encode"
X264_OPTIONS = {"preset": "veryfast", "crf": "18"}
AUDIO_RATE = 48000
FALLBACK_RATE = Fraction(25)
MAX_IDLE_PULLS = 1000


class AssemblyError(ShotbuildError):
    """A member's file cannot be read or cut."""


@dataclass(frozen=True)
class Probe:
    """What the assembler needs to know of a member's file."""

    path: Path
    params: tuple[Any, ...]  # codec parameters a stream copy must share
    width: int
    height: int
    rate: Fraction
    audio: bool
    duration: Fraction  # seconds
    keyframes: tuple[Fraction, ...]  # seconds from the start


@dataclass(frozen=True)
class Segment:
    """The part of a member that enters the cut, in seconds of the member."""

    probe: Probe
    start: Fraction
    end: Fraction

    @property
    def length(self) -> Fraction:
        return self.end - self.start


def seconds(value: float | None, default: Fraction) -> Fraction:
    return default if value is None else Fraction(value).limit_denominator(1_000_000)


def segment(probe: Probe, start: float | None, end: float | None, shot: str) -> Segment:
    """The part of a member between its trims (the end clipped to the file's length)."""
    first = seconds(start, Fraction(0))
    last = min(seconds(end, probe.duration), probe.duration)
    if last <= first:
        raise AssemblyError(
            f"{shot} is {float(probe.duration):g} s long, so in {float(first):g} leaves "
            "nothing of it; change its in/out in the spec"
        )
    return Segment(probe, first, last)


def probe(path: Path) -> Probe:
    try:
        with av.open(str(path)) as container:
            return _probe(path, container)
    except av.FFmpegError as e:
        raise AssemblyError(f"{path.name}: cannot be read as a video ({e})") from None


def _probe(path: Path, container: Any) -> Probe:
    if not container.streams.video:
        raise AssemblyError(f"{path.name}: has no video stream")
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    keyframes: list[Fraction] = []
    end = zero = video.start_time or 0
    for packet in container.demux(video):
        if packet.pts is None:
            continue
        if packet.is_keyframe:
            keyframes.append((packet.pts - zero) * video.time_base)
        end = max(end, packet.pts + (packet.duration or 0))
    cc = video.codec_context
    params = (
        cc.name, cc.width, cc.height, cc.format.name if cc.format else None,
        video.average_rate, video.time_base, bytes(cc.extradata or b""),
        _audio_params(audio),
    )  # fmt: skip
    return Probe(
        path, params, cc.width, cc.height, Fraction(video.average_rate or FALLBACK_RATE),
        audio is not None, (end - zero) * video.time_base, tuple(keyframes),
    )  # fmt: skip


def _audio_params(audio: Any) -> tuple[Any, ...] | None:
    if audio is None:
        return None
    cc = audio.codec_context
    return (cc.name, cc.sample_rate, cc.layout.name, audio.time_base, bytes(cc.extradata or b""))


def can_remux(segments: list[Segment], size: tuple[int, int] | None) -> bool:
    first = segments[0].probe
    if size is not None and size != (first.width, first.height):
        return False
    return all(s.probe.params == first.params and _on_keyframes(s) for s in segments)


def _on_keyframes(segment: Segment) -> bool:
    half = 1 / (2 * segment.probe.rate)
    keys = segment.probe.keyframes

    def on_key(t: Fraction) -> bool:
        return any(abs(k - t) < half for k in keys)

    whole_end = segment.end >= segment.probe.duration - half
    return on_key(segment.start) and (whole_end or on_key(segment.end))


def assemble(segments: list[Segment], size: tuple[int, int] | None, out: Path) -> str:
    """Write the cut to `out` (a new file); the method used."""
    if can_remux(segments, size):
        try:
            remux(segments, out)
            return REMUX
        except av.FFmpegError:  # e.g. timestamps a copy cannot keep in order
            out.unlink(missing_ok=True)
    try:
        reencode(segments, size, out)
    except av.FFmpegError as e:
        raise AssemblyError(f"cannot assemble ({e})") from None
    return REENCODE


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[Any]:
    with av.open(str(out), "w", format="mp4", options={"movflags": "faststart"}) as container:
        yield container


# -- stream copy -------------------------------------------------------------------


def remux(segments: list[Segment], out: Path) -> None:
    with _writing(out) as container:
        with av.open(str(segments[0].probe.path)) as first:
            streams = [container.add_stream_from_template(first.streams.video[0])]
            if first.streams.audio:
                streams.append(container.add_stream_from_template(first.streams.audio[0]))
        offset, last_dts = Fraction(0), [-(2**62)] * len(streams)
        for segment in segments:
            _copy(segment, container, streams, offset, last_dts)
            offset += segment.length


def _copy(
    segment: Segment, container: Any, streams: list[Any], offset: Fraction, last_dts: list[int]
) -> None:
    half = 1 / (2 * segment.probe.rate)
    with av.open(str(segment.probe.path)) as source:
        inputs = [source.streams.video[0], *source.streams.audio[: len(streams) - 1]]
        for packet in source.demux(inputs):
            if packet.pts is None or packet.dts is None:
                continue
            index = 0 if packet.stream.type == "video" else 1
            tb, zero = _time_base(packet.stream), packet.stream.start_time or 0
            t = (packet.pts - zero) * tb
            if not segment.start - half <= t < segment.end - half:
                continue
            shift = round((offset - segment.start) / tb) - zero
            dts = max(packet.dts + shift, last_dts[index] + 1)  # strictly increasing
            packet.pts, packet.dts = packet.pts + shift, dts
            last_dts[index] = dts
            packet.stream = streams[index]
            container.mux(packet)


def _time_base(stream: Any) -> Fraction:
    tb = stream.time_base
    if tb is None:
        raise AssemblyError("a stream without a time base cannot be cut")
    return Fraction(tb)


# -- re-encode ---------------------------------------------------------------------


def reencode(segments: list[Segment], size: tuple[int, int] | None, out: Path) -> None:
    first = segments[0].probe
    width, height = size or (first.width, first.height)
    rate = first.rate
    with _writing(out) as container:
        video = container.add_stream("libx264", rate=rate, options=dict(X264_OPTIONS))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = None
        if any(s.probe.audio for s in segments):
            audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        slot = samples = 0
        for segment in segments:
            slot = _video(segment, container, video, slot, rate)
            if audio is not None:
                target = round(slot / rate * AUDIO_RATE)
                samples = _audio(segment, container, audio, samples, target - samples)
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))


def _video(segment: Segment, container: Any, stream: Any, slot: int, rate: Fraction) -> int:
    """Encode the segment at `rate`: each output frame shows the latest source
    frame at or before its time. Returns the next frame number."""
    slots = round(segment.length * rate)
    fit = _Fitter(stream.width, stream.height)
    held, done = None, 0
    with av.open(str(segment.probe.path)) as source:
        src = source.streams.video[0]
        src.thread_type = "AUTO"
        tb, zero = _time_base(src), src.start_time or 0
        for frame in source.decode(src):
            if frame.pts is None:
                continue
            t = (frame.pts - zero) * tb - segment.start
            if held is not None:
                while done < slots and Fraction(done) / rate < t:
                    _emit(container, stream, held, slot + done, rate)
                    done += 1
            if done >= slots:
                break
            held = fit(frame)
    while held is not None and done < slots:
        _emit(container, stream, held, slot + done, rate)
        done += 1
    return slot + done


def _emit(container: Any, stream: Any, frame: Any, pts: int, rate: Fraction) -> None:
    frame.pts, frame.time_base = pts, 1 / rate
    container.mux(stream.encode(frame))


class _Fitter:
    """A source frame as a yuv420p frame of the output size: scaled when only
    the size differs, letterboxed (scale + pad) when the aspect ratio does."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.graph: Any = None

    def __call__(self, frame: Any) -> Any:
        if frame.width * self.height == frame.height * self.width:
            return frame.reformat(width=self.width, height=self.height, format="yuv420p")
        if self.graph is None:
            self.graph = self._letterbox(frame)
        self.graph.push(frame)
        return self.graph.pull()

    def _letterbox(self, frame: Any) -> Any:
        graph = av.filter.Graph()
        w, h = self.width, self.height
        chain = [
            graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                             time_base=frame.time_base or Fraction(1, 1000)),
            graph.add("scale", f"{w}:{h}:force_original_aspect_ratio=decrease"),
            graph.add("pad", f"{w}:{h}:(ow-iw)/2:(oh-ih)/2"),
            graph.add("format", "yuv420p"),
            graph.add("buffersink"),
        ]  # fmt: skip
        for a, b in itertools.pairwise(chain):
            a.link_to(b)
        graph.configure()
        return graph


def _audio(segment: Segment, container: Any, stream: Any, samples: int, count: int) -> int:
    """Encode exactly `count` samples for the segment: its audio trimmed, or silence."""
    if count <= 0:
        return samples
    graph = av.filter.Graph()
    tail = [
        graph.add("aresample", str(AUDIO_RATE)),
        graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo"),
        graph.add("apad", f"whole_len={count}"),
        graph.add("atrim", f"end_sample={count}"),
        graph.add("abuffersink"),
    ]
    with contextlib.ExitStack() as stack:
        frames: Iterator[Any] = iter(())
        if segment.probe.audio:
            source = stack.enter_context(av.open(str(segment.probe.path)))
            src = source.streams.audio[0]
            head = [
                graph.add_abuffer(template=src),
                graph.add("atrim", f"start={float(segment.start)}:end={float(segment.end)}"),
                graph.add("asetpts", "PTS-STARTPTS"),
            ]
            frames = source.decode(src)
        else:
            head = [graph.add("anullsrc", f"r={AUDIO_RATE}:cl=stereo")]
        chain = head + tail
        for a, b in itertools.pairwise(chain):
            a.link_to(b)
        graph.configure()
        return _drain(graph, frames, container, stream, samples, has_input=segment.probe.audio)


def _drain(
    graph: Any, frames: Iterator[Any], container: Any, stream: Any, samples: int, *, has_input: bool
) -> int:
    def pull_all() -> bool:
        nonlocal samples
        while True:
            try:
                frame = graph.pull()
            except av.BlockingIOError:
                return True
            except av.EOFError:
                return False
            frame.pts, frame.time_base = samples, Fraction(1, AUDIO_RATE)
            samples += frame.samples
            container.mux(stream.encode(frame))

    if has_input:
        for frame in frames:
            graph.push(frame)
            if not pull_all():
                return samples
        graph.push(None)
    for _ in range(MAX_IDLE_PULLS):  # the graph has all its input: it must end
        if not pull_all():
            return samples
    raise AssemblyError("the audio filter did not finish")
