"""Pure decisions about cuts: assemble, up to date, or waiting for shots, each
with a reason. Reads member files' stats (and hashes a member only when its
stat changed); writes nothing."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from shotbuild.keys import StatCachedHasher, UnreadableReference
from shotbuild.money import Money, renders_and_money
from shotbuild.plan import Plan, PlanItem, ShotItem
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
    only: Collection[str] | None = None,
) -> tuple[SequencePlan, ...]:
    """One plan per sequence of `spec` (or of those named in `only`), in file order.
    `member_files` maps a shot to its finished file (its picked take); a shot absent
    from it is not done."""
    out_dir = out_dir_of(build_dir, subdir)
    done = done if done is not None else record.read(out_dir)
    hasher = StatCachedHasher(done.hashes.get, done.hashes.__setitem__)
    chosen = [s for s in spec.sequences if only is None or s.name in only]
    return tuple(_one(seq, out_dir, member_files, done, hasher) for seq in chosen)


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
    return plan_sequences(plan.spec, plan.build_dir, member_files(plan), subdir)


def containing(spec: Spec, shots: Collection[str]) -> tuple[str, ...]:
    """The sequences of `spec` with any of `shots` among their members, in file order."""
    return tuple(s.name for s in spec.sequences if any(m.shot in shots for m in s.members))


def member_files(plan: Plan, done: Collection[str] = ()) -> dict[str, Path]:
    """Each shot's file a cut is made of (its picked take, build/<shot>.mp4): of the
    shots the plan found settled, and of `done` (shots a build has just put there)."""
    return {
        item.name: item.output
        for item in plan.items
        if (item.status in SETTLED or item.name in done) and _the_shots_own(item)
    }


def _the_shots_own(item: PlanItem) -> bool:
    """The item of the shot's output (not of another take of it)."""
    return not isinstance(item, ShotItem) or item.take == 1


def waiting_cost(plan: Plan, cut: SequencePlan) -> tuple[int, Money | None]:
    """The renders and the money a build would pay for the shots `cut` waits for,
    priced by the plan itself (None: free, or a shot has no price)."""
    items = [item for item in plan.items if item.name in cut.missing]
    return plan.renders_among(items), plan.cost_among(items)


def describe(plan: Plan, cut: SequencePlan) -> str:
    """The cut in words: "waiting for 2 shots: a, b (2 renders, $14.00)", or its
    status and reason."""
    if not cut.missing:
        return f"{cut.status.value}: {cut.reason}"
    count = len(cut.missing)
    shots = f"{count} shot{'s' if count != 1 else ''}: {', '.join(cut.missing)}"
    return f"waiting for {shots} ({_money_words(plan, *waiting_cost(plan, cut))})"


def _money_words(plan: Plan, renders: int, cost: Money | None) -> str:
    if not renders:
        return "nothing to pay: a build restores or finishes them"
    if cost is not None:
        return renders_and_money(renders, cost)
    price = "free" if plan.prices is None else "price unknown"
    return f"{renders} render{'s' if renders != 1 else ''}, {price}"


def to_json(cut: SequencePlan, plan: Plan) -> dict[str, object]:
    renders, cost = waiting_cost(plan, cut)
    return {
        "name": cut.name,
        "status": cut.status.value,
        "reason": cut.reason,
        "output": str(cut.path),
        "waits_for": list(cut.missing),
        "waits_for_renders": renders,
        "waits_for_cost": cost.as_json() if cost is not None else None,
    }
