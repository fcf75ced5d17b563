"""Rerolls in a plan: one more take of a shot's current inputs.

Take n is the lock's next number; its key is take_key(shot key, n), so it has
its own job record and Idempotency-Key. A reroll killed after its intent or its
create is found again the next time: the lock still lacks take n, so the same n
and key come back, and the take's job (or its result, when a later build
finished it into the cache) is resumed instead of paying again."""

from __future__ import annotations

import dataclasses
from typing import Any

from shotbuild.errors import UsageError
from shotbuild.plan import (
    Plan,
    PlanItem,
    Render,
    Restore,
    Resume,
    Settled,
    ShotItem,
    seconds_of,
)
from shotbuild.reasons import Code, Reason
from shotbuild.status import ShotStatus
from shotbuild.store.cache import JOB_FAILED, JOB_INTENT, JOB_SUBMITTED, Cache
from shotbuild.takes import take_key


def with_rerolls(plan: Plan, names: tuple[str, ...], cache: Cache, *, pick: bool) -> Plan:
    """The plan with each named shot's item replaced by its next take's work."""
    if not names:
        return plan
    items: list[PlanItem] = []
    keys: set[str] = set()
    for item in plan.items:
        if item.name in names:
            item = _reroll(plan, item, cache, pick=pick)
            keys.add(item.job_key if isinstance(item, ShotItem) else "")
        items.append(item)
    orphans = tuple(o for o in plan.orphans if o.key not in keys)  # resumed as the take
    settled = tuple(k for k in plan.settled if k not in keys)
    return dataclasses.replace(plan, items=tuple(items), orphans=orphans, settled=settled)


def _reroll(plan: Plan, item: PlanItem, cache: Cache, *, pick: bool) -> PlanItem:
    shot = plan.takes.get(item.name)
    # up to date means the lock's entry is this shot's (`keys.accepted_keys`), maybe
    # under a key the shot had before (an old loopback origin or type name): the new
    # take joins the lock's takes under the lock's own key, dropping none of them
    if not isinstance(item, Settled) or shot is None:
        raise UsageError(
            f"{item.name}: not built with its current inputs ({item.reason}); run"
            " `shotbuild build` first, then reroll it"
        )
    number = shot.next_number()
    key = take_key(shot.key, number)
    base: dict[str, Any] = {
        "name": item.name,
        "output": item.output,
        "key": shot.key,
        "request": item.request,
        "shot": item.shot,
        "take": number,
        "as_pick": pick,
    }
    facts = {"take": str(number)}
    result = cache.result(key)
    if result is not None:  # finished into the cache by a build after a killed reroll
        source = "cache" if cache.has_blob(result.sha256, result.size) else "lock"
        why = Reason(Code.REROLL, facts=facts)
        return Restore(status=ShotStatus.RESTORE, why=why, result=result, source=source, **base)
    job = cache.job(key)
    if job is not None and job.state in (JOB_INTENT, JOB_SUBMITTED):
        code = Code.SUBMITTED if job.video_id else Code.CREATE_UNANSWERED
        why = Reason(code, facts={"video_id": job.video_id or ""})
        return Resume(status=ShotStatus.IN_FLIGHT, why=why, job=job, **base)
    previous = job if job is not None and job.state == JOB_FAILED else None
    seconds = seconds_of(item.shot)
    why = Reason(Code.REROLL, facts=facts)
    return Render(status=ShotStatus.NEW, why=why, seconds=seconds, previous=previous, **base)
