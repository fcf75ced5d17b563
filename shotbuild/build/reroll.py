"""New takes in a plan: `reroll` (one more take of a shot's current inputs) and
`build --force` (reroll and pick), through one path.

Take n is the next number of the shot's takes on record; its key is
take_key(shot key, n), so it has its own job record and Idempotency-Key. A reroll
or a force killed after its intent or its create is found again the next time:
the lock still lacks take n, so the same n and key come back, and the take's job
(or its result, when a later build finished it into the cache) is resumed
instead of paying again. A force that finished is a take on record, so the next
force is take n + 1: a new job."""

from __future__ import annotations

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
    take_item,
    takes_keys,
)
from shotbuild.reasons import Code, Reason
from shotbuild.store.cache import Cache
from shotbuild.store.lock import ShotTakes


def with_new_takes(
    plan: Plan,
    cache: Cache,
    identity: str,
    *,
    reroll: tuple[str, ...],
    pick: bool,
    force: tuple[str, ...],
) -> Plan:
    """The plan with the rerolled shots (their next take, picked with `pick`) and the
    forced ones (their next take, always picked); `identity`: the backend's."""
    plan = with_rerolls(plan, reroll, cache, identity, pick=pick)
    return with_rerolls(plan, force, cache, identity, pick=True, forced=True)


def with_rerolls(
    plan: Plan,
    names: tuple[str, ...],
    cache: Cache,
    identity: str,
    *,
    pick: bool,
    forced: bool = False,
) -> Plan:
    """The plan with each named shot's item replaced by its next take's work;
    `forced`: `build --force`. `identity`: the backend's."""
    if not names:
        return plan
    items: list[PlanItem] = []
    keys: set[str] = set()
    for item in plan.items:
        if item.name in names:
            if forced:
                item = _forced(plan, item, cache, identity)
            else:
                item = _reroll(plan, item, cache, identity, pick=pick)
            keys.add(item.job_key if isinstance(item, ShotItem) else "")
        items.append(item)
    orphans = tuple(o for o in plan.orphans if o.key not in keys)  # resumed as the take
    settled = tuple(k for k in plan.settled if k not in keys)
    extra = tuple(t for t in plan.extra if t.name not in names)  # a new take is one take
    return plan.replace(items=tuple(items), orphans=orphans, settled=settled, extra=extra)


def _reroll(plan: Plan, item: PlanItem, cache: Cache, identity: str, *, pick: bool) -> PlanItem:
    """The next take of the current inputs of a shot built with them (`current_takes`:
    maybe under a key the shot had before, an old loopback origin or type name: the
    new take joins those takes under their own key, dropping none of them). A shot
    whose output only needs restoring counts: its takes are on record (a reroll
    --pick killed between putting its take in build/ and writing the lock leaves
    just that), and a build restores the output the lock picks."""
    if isinstance(item, (Settled, Restore)):
        takes = current_takes(plan, item, cache, identity)
        if takes is not None:
            return _next_take(item, takes, cache, pick=pick)
    raise UsageError(
        f"{item.name}: not built with its current inputs ({item.reason}); run"
        " `shotbuild build` first, then reroll it"
    )


def _forced(plan: Plan, item: PlanItem, cache: Cache, identity: str) -> PlanItem:
    """`build --force`: the next take of the shot's current inputs, picked. A shot
    with no take of its current inputs on record gets its first, as planned (a
    forced render); a forced job still unfinished from before is resumed first; a
    shot the lock has no entry for takes the take 1 a killed build left, as planned."""
    if not isinstance(item, ShotItem) or isinstance(item, Resume):
        return item
    if not isinstance(item, Render) and plan.takes.get(item.name) is None:
        return item  # a take 1 a killed build left (Plan.item): adopted, not paid again
    takes = current_takes(plan, item, cache, identity)
    if takes is None:
        return item
    return _next_take(item, takes, cache, pick=True, forced=True)


def current_takes(plan: Plan, item: ShotItem, cache: Cache, identity: str) -> ShotTakes | None:
    """The shot's takes of its current inputs: the lock's (under the lock's key, maybe
    one the shot had before: `plan.takes_keys`, the one rule of which keys are the shot's),
    else (inputs gone back to earlier ones) the paid renders on record, which the
    recorder brings back too. A new take is keyed under these takes' key."""
    shot = plan.takes.get(item.name)
    if shot is not None and shot.key in takes_keys(item, identity, shot):
        return shot
    from shotbuild.store.records import takes_on_record  # not read by a no-op build

    known = takes_on_record(cache, item.key)
    return known.shot_takes() if known is not None else None


def _next_take(
    item: ShotItem, takes: ShotTakes, cache: Cache, *, pick: bool, forced: bool = False
) -> PlanItem:
    """The work for the next take of `takes` (the shot's current inputs' takes, whose
    key the new take's is derived from, maybe one the shot had before): restored when
    a build finished it into the cache after a kill, resumed when its job is
    unfinished, else a render to pay for (plan.take_item: the one rule for a take)."""
    number = takes.next_number()
    why = Reason(Code.REROLL, facts={"take": str(number), "picked": "yes" if forced else ""})
    keyed = item.replace(key=takes.key)
    seconds = seconds_of(item.shot)
    return take_item(keyed, number, cache, why, seconds=seconds, pick=pick, forced=forced)
