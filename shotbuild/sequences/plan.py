"""Pure decisions about cuts: assemble, up to date, or waiting for shots, each
with a reason. Reads member files' stats (and hashes a member only when its
stat changed); writes nothing."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shotbuild.keys import StatCachedHasher, UnreadableReference
from shotbuild.plan import Plan
from shotbuild.sequences import record
from shotbuild.spec.model import Sequence, Spec
from shotbuild.status import SETTLED

# Bump when the assembler writes different bytes for the same inputs: every cut
# is then assembled again (never a shot rendered).
ASSEMBLER_VERSION = "1"


class SequenceStatus(enum.Enum):
    ASSEMBLE = "assemble"
    UP_TO_DATE = "up to date"
    WAITING = "waiting for shots"


@dataclass(frozen=True)
class SequencePlan:
    name: str
    status: SequenceStatus
    reason: str
    path: Path  # <out_dir>/<name>.mp4
    inputs: tuple[record.Input, ...] = ()  # empty when waiting
    files: tuple[Path, ...] = ()  # the members' files, in order
    missing: tuple[str, ...] = ()  # the shots it waits for


def out_dir_of(build_dir: Path, subdir: str) -> Path:
    return build_dir / subdir if subdir else build_dir


def plan_sequences(
    spec: Spec,
    build_dir: Path,
    member_files: Mapping[str, Path],
    subdir: str = "",
    *,
    done: record.Record | None = None,
) -> tuple[SequencePlan, ...]:
    """One plan per sequence of `spec`, in file order. `member_files` maps a shot
    to its finished file (its picked take); a shot absent from it is not done."""
    out_dir = out_dir_of(build_dir, subdir)
    done = done if done is not None else record.read(out_dir)
    hasher = StatCachedHasher(done.hashes.get, done.hashes.__setitem__)
    return tuple(_one(seq, out_dir, member_files, done, hasher) for seq in spec.sequences)


def _one(
    seq: Sequence,
    out_dir: Path,
    member_files: Mapping[str, Path],
    done: record.Record,
    hasher: StatCachedHasher,
) -> SequencePlan:
    path = out_dir / f"{seq.name}.mp4"
    missing = tuple(dict.fromkeys(m.shot for m in seq.members if not _usable(member_files, m.shot)))
    if missing:
        reason = f"waiting for {', '.join(missing)}"
        return SequencePlan(seq.name, SequenceStatus.WAITING, reason, path, missing=missing)
    try:
        inputs = tuple(
            record.Input(m.shot, hasher(member_files[m.shot]), m.start, m.end) for m in seq.members
        )
    except UnreadableReference:
        return SequencePlan(
            seq.name, SequenceStatus.WAITING, "a member's file cannot be read", path
        )
    files = tuple(member_files[m.shot] for m in seq.members)
    reason = _why(seq, inputs, done.cuts.get(seq.name), path)
    status = SequenceStatus.ASSEMBLE if reason else SequenceStatus.UP_TO_DATE
    return SequencePlan(
        seq.name, status, reason or "members and trims unchanged", path, inputs, files
    )


def _usable(member_files: Mapping[str, Path], shot: str) -> bool:
    path = member_files.get(shot)
    return path is not None and path.is_file()


def _why(
    seq: Sequence, inputs: tuple[record.Input, ...], cut: record.Assembled | None, path: Path
) -> str:
    """Why the cut must be assembled ("" when it need not)."""
    if cut is None:
        return "not assembled yet"
    if record.stat_of(path) != cut.stat:
        return f"{path.name} is missing or was changed on disk"
    if cut.assembler != ASSEMBLER_VERSION:
        return "the assembler changed"
    if cut.size != seq.size:
        return "size changed"
    if [i.shot for i in cut.inputs] != [i.shot for i in inputs]:
        return "members changed"
    for old, new in zip(cut.inputs, inputs, strict=True):
        if old.sha256 != new.sha256:
            return f"{new.shot} changed"
        if (old.start, old.end) != (new.start, new.end):
            return f"trims of {new.shot} changed"
    return ""


def plan_of(plan: Plan, subdir: str) -> tuple[SequencePlan, ...]:
    """The sequences of a shots plan, before it is built: a member is done when its
    shot needs nothing (up to date); any other member is what the cut waits for."""
    if not plan.spec.sequences:
        return ()
    done = {i.name: i.output for i in plan.items if i.status in SETTLED}
    return plan_sequences(plan.spec, plan.build_dir, done, subdir)


def to_json(cut: SequencePlan) -> dict[str, object]:
    return {
        "name": cut.name,
        "status": cut.status.value,
        "reason": cut.reason,
        "output": str(cut.path),
        "waits_for": list(cut.missing),
    }
