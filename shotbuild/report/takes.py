"""A shot's takes as the plan and status say them: "3 takes wanted, 1 on record:
2 to render". Said only for a shot that asks for more than one take (or whose
other takes a build makes), so the common `takes: 1` line reads as it always has."""

from __future__ import annotations

from collections.abc import Mapping

from shotbuild.plan import Plan, PlanItem, Restore, Resume, ShotItem
from shotbuild.reasons import Code, Reason, words


def takes_words(plan: Plan, item: PlanItem, live: Mapping[str, str] | None = None) -> str:
    """The takes of `item`'s shot and what a build does for them; "" when there is
    nothing to say. `live` (status) adds the API's state of each take in flight."""
    if not isinstance(item, ShotItem):
        return ""
    takes = plan.takes_of(item)
    wanted = item.shot.takes
    if wanted == 1 and not takes:
        return ""
    if plan.prices is None:  # a free backend: one animatic per shot, never a take
        return f"{wanted} takes wanted: a preview renders one per shot, not each take"
    head = f"{_takes(wanted)} wanted, {plan.on_record.get(item.name, 0)} on record"
    units = (item, *takes)
    counts = (
        (sum(isinstance(u, Resume) for u in units), "in flight"),
        (sum(isinstance(u, Restore) for u in units), "to restore"),
        (plan.renders_of(item), "to render"),  # the shot's and its takes' (not served)
    )
    said = ", ".join(f"{n} {what}" for n, what in counts if n)
    flying = [f"take {t.take}: {live[t.label]}" for t in takes if live and t.label in live]
    state = f" [{'; '.join(flying)}]" if flying else ""
    return (f"{head}: {said}" if said else head) + state


def unfinished_words(plan: Plan, item: PlanItem, live: Mapping[str, str] | None = None) -> str:
    """The shot's new take (a killed reroll's or force's) still unfinished, and how it
    is resumed; "" when there is none. `live` (status) adds the API's state of its job."""
    unfinished = plan.unfinished.get(item.name) if isinstance(item, ShotItem) else None
    if unfinished is None:
        return ""
    facts = {"take": str(unfinished.take), "video_id": unfinished.job.video_id or ""}
    said = words(Reason(Code.TAKE_UNFINISHED, facts={**facts, "shot": item.name}))
    label = f"{item.name} (take {unfinished.take})"
    return f"{said} [{live[label]}]" if live and label in live else said


def _takes(n: int) -> str:
    return f"{n} take" if n == 1 else f"{n} takes"
