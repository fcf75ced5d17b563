"""Carry out the sequence plans: assemble each cut whose inputs changed, write
its exports, and record what was written. One entry point for the engine:
`assemble_all`. A cut that cannot be made is a result, not an exception, so
the other cuts go on."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from shotbuild.errors import MissingExtra, ShotbuildError
from shotbuild.fs import atomic_writer
from shotbuild.sequences import export, record
from shotbuild.sequences.plan import (
    ASSEMBLER_VERSION,
    SequencePlan,
    SequenceStatus,
    containing,
    member_files,
    out_dir_of,
    plan_sequences,
)
from shotbuild.spec.model import Sequence, Spec

if TYPE_CHECKING:
    from shotbuild.plan import Plan
    from shotbuild.sequences.media import Probe, Segment

ASSEMBLED = "assembled"
UP_TO_DATE = "up to date"
SKIPPED = "skipped"
FAILED = "failed"


class Messages(Protocol):
    """The one thing assembling tells people: a line (the build's Reporter has it)."""

    def message(self, text: str) -> None: ...


class _Silent:
    def message(self, text: str) -> None:
        pass


@dataclass(frozen=True)
class SequenceResult:
    name: str
    status: str  # assembled | up to date | skipped | failed
    detail: str
    path: Path
    method: str | None = None  # remux | re-encode, when assembled
    seconds: float = 0.0
    exports: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Made:
    """A cut encoded ahead, outside the build lock (`encode_ahead`): the inputs it was
    made from, its file and how it was made. `assemble_all(made=...)` puts it in
    place instead of encoding again when the cut's inputs are still these."""

    name: str
    inputs: tuple[record.Input, ...]
    size: tuple[int, int] | None
    path: Path
    method: str


def encode_ahead(
    spec: Spec, build_dir: Path, files: Mapping[str, Path], name: str, out: Path, subdir: str = ""
) -> Made | None:
    """Encode sequence `name` into `out` from `files` (shot -> a file holding its picked
    take's bytes, e.g. a copy the caller keeps still), when the cut in
    `<build_dir>/<subdir>/` needs assembling; None when it does not, or waits for a
    shot. Nothing else is written and nothing is recorded."""
    (plan,) = plan_sequences(spec, build_dir, files, subdir, only=(name,))
    if plan.status is not SequenceStatus.ASSEMBLE:
        return None
    seq = _sequence(spec, name)
    method = _encode(plan, seq, out)[0]
    return Made(name, plan.inputs, seq.size, out, method)


def assemble_all(
    spec: Spec,
    build_dir: Path,
    member_files: Mapping[str, Path],
    subdir: str = "",
    reporter: Messages | None = None,
    *,
    only: Collection[str] | None = None,
    hint: str = "",
    made: Collection[Made] = (),
) -> tuple[SequenceResult, ...]:
    """Bring every cut of `spec` (or those named in `only`) up to date in
    `<build_dir>/<subdir>/`, from `member_files` (shot -> its finished file; a shot
    not in it is not done). `hint` ends the line of a cut that waits for shots;
    `made`: cuts encoded ahead, used where their inputs are the cut's."""
    if not spec.sequences:
        return ()
    tell = reporter or _Silent()
    out_dir = out_dir_of(build_dir, subdir)
    done = record.read(out_dir)
    before = _snapshot(done)
    plans = plan_sequences(spec, build_dir, member_files, subdir, done=done, only=only)
    runner = _Runner(done, out_dir, tell, str(spec.path), hint, {m.name: m for m in made})
    results = tuple(runner.run(p, _sequence(spec, p.name)) for p in plans)
    if _snapshot(done) != before:
        out_dir.mkdir(parents=True, exist_ok=True)
        done.save()
    return results


def assemble_built(
    plan: Plan,
    build_dir: Path,
    done: Collection[str],
    subdir: str = "",
    reporter: Messages | None = None,
    *,
    only: Collection[str] = (),
) -> tuple[SequenceResult, ...]:
    """The engine's hook, after a build of `plan` put the shots `done` in place: each
    cut from its members' picked takes, whether this build or an earlier one made
    them. A build limited to `only` (`--only`, `shotbuild pick`) brings up to date
    the cuts that contain those shots, and says what to run for a member it left out."""
    if not plan.spec.sequences:
        return ()
    files = member_files(plan, done)
    names = containing(plan.spec, only) if only else None
    hint = f"; run `shotbuild build {plan.spec.path.name}` to assemble it" if only else ""
    return assemble_all(plan.spec, build_dir, files, subdir, reporter, only=names, hint=hint)


def _snapshot(done: record.Record) -> tuple[object, ...]:
    return (dict(done.cuts), dict(done.hashes), set(done.pending))


def _sequence(spec: Spec, name: str) -> Sequence:
    return next(s for s in spec.sequences if s.name == name)


class _Runner:
    def __init__(
        self,
        done: record.Record,
        out_dir: Path,
        tell: Messages,
        spec: str,
        hint: str = "",
        made: Mapping[str, Made] | None = None,
    ) -> None:
        self.done, self.out_dir, self.tell, self.spec = done, out_dir, tell, spec
        self.hint, self.made = hint, made or {}
        self.exports_skipped = False

    def run(self, plan: SequencePlan, seq: Sequence) -> SequenceResult:
        if plan.status is SequenceStatus.WAITING:
            self.tell.message(f"{plan.name}: not assembled, {plan.reason}{self.hint}")
            return SequenceResult(plan.name, SKIPPED, plan.reason, plan.path)
        try:
            if plan.status is SequenceStatus.UP_TO_DATE:
                return self._current(plan)
            return self._assemble(plan, seq)
        except ShotbuildError as e:
            self.tell.message(f"{plan.name}: not assembled: {e}")
            return SequenceResult(plan.name, FAILED, str(e), plan.path)

    def _current(self, plan: SequencePlan) -> SequenceResult:
        cut = self.done.cuts[plan.name]
        exports: tuple[Path, ...] = ()
        if not all(p.is_file() for p in export.paths(plan.name, self.out_dir)[:2]):
            exports = self._exports(plan, [_probe(f) for f in plan.files])
        return SequenceResult(
            plan.name, UP_TO_DATE, plan.reason, plan.path, cut.method, cut.seconds, exports
        )

    def _assemble(self, plan: SequencePlan, seq: Sequence) -> SequenceResult:
        self._check_ours(plan)
        ahead = self.made.get(plan.name)
        if ahead is not None and (ahead.inputs, ahead.size) == (plan.inputs, seq.size):
            probes, segments = _segments(plan, seq)
            method = ahead.method
            _put(ahead.path, plan.path)
        else:
            with tempfile.TemporaryDirectory(dir=self.out_dir, prefix=".sequence-") as tmp:
                made = Path(tmp) / "cut.mp4"
                method, probes, segments = _encode(plan, seq, made)
                _put(made, plan.path)
        stat = record.stat_of(plan.path)
        assert stat is not None  # just written
        length = float(sum(s.length for s in segments))
        self.done.cuts[plan.name] = record.Assembled(
            ASSEMBLER_VERSION, seq.size, plan.inputs, stat, method, length, self.spec
        )
        self.done.pending.discard(plan.name)
        self.done.save()
        exports = self._exports(plan, probes, segments)
        detail = f"{plan.reason}; {method}, {length:g} s"
        self.tell.message(f"{plan.name}: assembled {plan.path.name} ({detail})")
        return SequenceResult(plan.name, ASSEMBLED, detail, plan.path, method, length, exports)

    def _check_ours(self, plan: SequencePlan) -> None:
        """A cut's files are replaced only once shotbuild has written them."""
        if not self.done.owns(plan.name):
            for path in [plan.path, *export.paths(plan.name, self.out_dir)]:
                if path.exists():
                    raise ShotbuildError(
                        f"{path} exists and was not written by shotbuild; move it away and "
                        "build again"
                    )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.done.pending.add(plan.name)
        self.done.save()  # before the first byte: a crash leaves the names shotbuild's

    def _exports(
        self, plan: SequencePlan, probes: list[Probe], segments: list[Segment] | None = None
    ) -> tuple[Path, ...]:
        if segments is None:
            media = _media()
            cut = self.done.cuts[plan.name]
            segments = [
                media.segment(p, i.start, i.end, i.shot)
                for p, i in zip(probes, cut.inputs, strict=True)
            ]
        clips = [
            export.Clip(i.shot, s.probe.path, float(s.start), float(s.end),
                        float(s.probe.duration), float(s.probe.rate))
            for i, s in zip(plan.inputs, segments, strict=True)
        ]  # fmt: skip
        try:
            return tuple(export.write(plan.name, clips, self.out_dir))
        except MissingExtra as e:
            if not self.exports_skipped:
                self.exports_skipped = True
                self.tell.message(f"sequences: .otio/.xml exports skipped: {e}")
            return ()


def _segments(plan: SequencePlan, seq: Sequence) -> tuple[list[Probe], list[Segment]]:
    media = _media()
    probes = [_probe(f) for f in plan.files]
    segments = [
        media.segment(p, m.start, m.end, m.shot) for p, m in zip(probes, seq.members, strict=True)
    ]
    return probes, segments


def _encode(plan: SequencePlan, seq: Sequence, out: Path) -> tuple[str, list[Probe], list[Segment]]:
    """The cut of `plan` written to `out`: how (remux or re-encode), and what of it."""
    probes, segments = _segments(plan, seq)
    return _media().assemble(segments, seq.size, out), probes, segments


def _put(made: Path, path: Path) -> None:
    with made.open("rb") as src, atomic_writer(path) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _media() -> ModuleType:
    try:
        from shotbuild.sequences import media
    except ImportError as e:
        raise MissingExtra("assembling sequences", "preview") from e
    return media


def _probe(path: Path) -> Probe:
    probe: Probe = _media().probe(path)
    return probe


def remove_outputs(
    spec: Spec, build_dir: Path, subdir: str = "", *, dry_run: bool = False
) -> list[Path]:
    """Remove the files the cuts of `spec` wrote in `<build_dir>/<subdir>/` (as the
    record says: nothing else), and forget them; the files, removed or not (dry run)."""
    out_dir = out_dir_of(build_dir, subdir)
    done = record.read(out_dir)
    ours = sorted(n for n, c in done.cuts.items() if c.spec in (None, str(spec.path)))
    found = []
    for name in ours:
        candidates = [out_dir / f"{name}.mp4", *export.paths(name, out_dir)]
        found += [p for p in candidates if p.is_file()]
    if dry_run or not ours:
        return found
    for path in found:
        path.unlink(missing_ok=True)
    for name in ours:
        del done.cuts[name]
    if done.cuts or done.pending:
        done.save()
    else:
        done.path.unlink(missing_ok=True)
    return found
