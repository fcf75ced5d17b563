"""Rerolls in a plan: one more take of a shot's current inputs.

Take n is the lock's next number; its key is take_key(shot key, n), so it has
its own job record and Idempotency-Key. A reroll killed after its intent or its
create is found again the next time: the lock still lacks take n, so the same n
and key come back, and the take's job (or its result, when a later build
finished it into the cache) is resumed instead of paying again."""

from __future__ import annotations

import dataclasses

from shotbuild.errors import UsageError
from shotbuild.plan import Plan, PlanItem, Settled, ShotItem, seconds_of, take_item
from shotbuild.reasons import Code, Reason
from shotbuild.store.cache import Cache


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
    extra = tuple(t for t in plan.extra if t.name not in names)  # a reroll is one take
    return dataclasses.replace(
        plan, items=tuple(items), orphans=orphans, settled=settled, extra=extra
    )


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
    why = Reason(Code.REROLL, facts={"take": str(number)})
    # the take's key is take_key(lock's key, n): the lock's own key, maybe an accepted older one
    lock_keyed = dataclasses.replace(item, key=shot.key)
    return take_item(lock_keyed, number, cache, why, seconds=seconds_of(item.shot), pick=pick)
