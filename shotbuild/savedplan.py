"""A saved plan (`shotbuild plan --out FILE`) and applying exactly it (`build --plan
FILE`), as `terraform plan -out` / `terraform apply plan.out` do.

The file is a versioned JSON value: the spec (its path and the sha256 of its bytes),
the lock's sha256, the backend's identity, the build folder, each item (shot, take,
key, action) and the money (renders, total). Applying it re-plans under the spec's
build lock and compares the two values: when anything moved, the build stops before
it pays anything and says to plan again. The file is untrusted input: bounded,
checked field by field, and nothing read from it is used as a path (the spec and
the build folder come from the command line and are only compared with it)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotbuild import untrusted
from shotbuild.errors import FileRefused, ShotbuildError
from shotbuild.fs import atomic_write_text
from shotbuild.plan import Plan, PlanItem, ShotItem
from shotbuild.regularfile import read_regular
from shotbuild.status import ShotStatus
from shotbuild.store.lock import read_lock_text
from shotbuild.untrusted import BadValue, show

FORMAT_VERSION = 1
KIND = "shotbuild plan"
MAX_PLAN_BYTES = 32 << 20  # ~150,000 shots
MAX_ITEMS = 200_000
MAX_PATH = 4096
_FIELDS = frozenset(
    {"format_version", "kind", "spec", "lock", "backend", "build_dir", "items", "money"}
)
_ACTIONS = frozenset(s.value for s in ShotStatus)
_AMOUNT = re.compile(r"\d{1,15}(\.\d{1,6})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_BACKEND_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class PlanFileError(ShotbuildError):
    """The saved plan cannot be read, or is not a plan this shotbuild writes."""


class PlanMoved(ShotbuildError):
    """What the saved plan says is no longer what a build would do: nothing was paid."""


@dataclass(frozen=True)
class SavedItem:
    shot: str
    take: int
    key: str | None  # None: a removed shot
    action: str  # the item's status: new, changed, up to date, restore, ...

    def to_json(self) -> dict[str, Any]:
        return {"shot": self.shot, "take": self.take, "key": self.key, "action": self.action}


@dataclass(frozen=True)
class SavedPlan:
    spec: str  # the spec's resolved path, as given to `plan` (compared, never opened)
    spec_sha256: str
    lock_sha256: str | None  # None: no lock yet
    backend: str  # name
    identity: str  # e.g. the API origin
    build_dir: str  # compared, never opened
    items: tuple[SavedItem, ...]
    renders: int
    cost: dict[str, str] | None  # {"amount": "14.00", "currency": "USD"}; None: free

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "spec": {"path": self.spec, "sha256": self.spec_sha256},
            "lock": {"sha256": self.lock_sha256},
            "backend": {"name": self.backend, "identity": self.identity},
            "build_dir": self.build_dir,
            "items": [item.to_json() for item in self.items],
            "money": {"renders": self.renders, "cost": self.cost},
        }


def saved_plan_of(plan: Plan, identity: str) -> SavedPlan:
    """The value `plan --out` writes for `plan`, made at backend `identity`: the
    spec's and lock's bytes are hashed now (call it right after planning)."""
    items = [_saved_item(item) for item in plan.items]
    items += [_saved_item(item) for item in plan.orphans]
    cost = plan.cost
    return SavedPlan(
        spec=str(plan.spec.path),
        spec_sha256=spec_sha256(plan.spec.path),
        lock_sha256=lock_sha256(plan.spec.lock_path),
        backend=plan.backend,
        identity=identity,
        build_dir=str(plan.build_dir),
        items=tuple(items),
        renders=plan.renders,
        cost=cost.as_json() if cost is not None else None,
    )


def _saved_item(item: PlanItem) -> SavedItem:
    take = item.take if isinstance(item, ShotItem) else 1
    return SavedItem(item.name, take, item.key, item.status.value)


def spec_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        raise PlanMoved(f"{path}: cannot be read ({e.strerror})") from None


def lock_sha256(path: Path) -> str | None:
    text = read_lock_text(path)
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_saved_plan(path: Path, saved: SavedPlan) -> None:
    atomic_write_text(path, json.dumps(saved.to_json(), indent=2, sort_keys=True) + "\n")


# -- what moved ------------------------------------------------------------------


def moved(saved: SavedPlan, now: SavedPlan) -> str | None:
    """What differs between the saved plan and the plan made now, in words; None
    when they are the same plan."""
    if saved == now:
        return None
    checks = (
        (saved.spec != now.spec, f"it was made for {show(saved.spec, 200)}, not {now.spec}"),
        (saved.spec_sha256 != now.spec_sha256, f"{Path(now.spec).name} changed"),
        (saved.lock_sha256 != now.lock_sha256, "the lock changed"),
        (
            (saved.backend, saved.identity) != (now.backend, now.identity),
            f"the backend is {now.backend} at {now.identity}, not {show(saved.backend)}"
            f" at {show(saved.identity, 200)}",
        ),
        (saved.build_dir != now.build_dir, f"the build folder is {now.build_dir}"),
    )
    for differs, words in checks:
        if differs:
            return words
    return _items_moved(saved, now) or _money_moved(saved, now)


def _items_moved(saved: SavedPlan, now: SavedPlan) -> str | None:
    if [(i.shot, i.take) for i in saved.items] != [(i.shot, i.take) for i in now.items]:
        return "its shots are not the ones a build would do now"
    for old, new in zip(saved.items, now.items, strict=True):
        if old.key != new.key:
            return f"shot {old.shot}'s key changed"
        if old.action != new.action:
            return f"shot {old.shot} is now {new.action}, not {old.action}"
    return None


def _money_moved(saved: SavedPlan, now: SavedPlan) -> str | None:
    def said(plan: SavedPlan) -> str:
        cost = f", {plan.cost['amount']} {plan.cost['currency']}" if plan.cost else ""
        return f"{plan.renders} renders{cost}"

    return f"the price is {said(now)}, not {said(saved)}"


# -- reading (untrusted) -----------------------------------------------------------


def read_saved_plan(path: Path) -> SavedPlan:
    """The saved plan at `path`, bounded and checked field by field; PlanFileError
    (one line naming the file and saying what to do) when it is not one."""
    again = f"; run `shotbuild plan --out {path}` again"
    data = _read_bounded(path, again)
    try:
        return parse_saved_plan(untrusted.load_json(data, max_bytes=MAX_PLAN_BYTES))
    except (BadValue, UnicodeDecodeError) as e:
        raise PlanFileError(f"{path}: not a saved shotbuild plan ({e}){again}") from None


def _read_bounded(path: Path, again: str) -> bytes:
    try:
        return read_regular(path, MAX_PLAN_BYTES)
    except FileRefused as e:
        raise PlanFileError(f"{path}: {e.said}{again}") from None


def parse_saved_plan(doc: Any) -> SavedPlan:
    """A SavedPlan from parsed JSON, every field checked; BadValue when one is wrong."""
    fields = untrusted.obj(doc, "the plan")
    version = fields.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise BadValue(f"format_version {show(version)} is not {FORMAT_VERSION}")
    _only(fields, _FIELDS, "the plan")
    if fields.get("kind") != KIND:
        raise BadValue(f"kind {show(fields.get('kind'))} is not {KIND!r}")
    spec = _obj(fields, "spec", {"path", "sha256"})
    lock = _obj(fields, "lock", {"sha256"})
    backend = _obj(fields, "backend", {"name", "identity"})
    money = _obj(fields, "money", {"renders", "cost"})
    return SavedPlan(
        spec=untrusted.text(spec.get("path"), "spec path", limit=MAX_PATH),
        spec_sha256=untrusted.sha256(spec.get("sha256"), "spec sha256"),
        lock_sha256=_optional_sha(lock.get("sha256")),
        backend=_shaped(_BACKEND_NAME, backend.get("name"), "backend name"),
        identity=untrusted.text(backend.get("identity"), "backend identity", limit=400),
        build_dir=untrusted.text(fields.get("build_dir"), "build_dir", limit=MAX_PATH),
        items=_items(fields.get("items")),
        renders=untrusted.count(money.get("renders"), "renders", limit=MAX_ITEMS * 10),
        cost=_cost(money.get("cost")),
    )


def _only(fields: dict[str, Any], allowed: frozenset[str] | set[str], what: str) -> None:
    extra = sorted(set(fields) - allowed)
    if extra:
        raise BadValue(f"{what} has unknown field {show(extra[0])}")


def _obj(fields: dict[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
    value = untrusted.obj(fields.get(name), name)
    _only(value, allowed, name)
    return value


def _shaped(pattern: re.Pattern[str], value: Any, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BadValue(f"{what} {show(value)} is not valid")
    return value


def _optional_sha(value: Any) -> str | None:
    return None if value is None else untrusted.sha256(value, "lock sha256")


def _items(value: Any) -> tuple[SavedItem, ...]:
    if not isinstance(value, list):
        raise BadValue(f"items must be a list, not {show(value)}")
    if len(value) > MAX_ITEMS:
        raise BadValue(f"more than {MAX_ITEMS:,} items")
    return tuple(_item(raw, n) for n, raw in enumerate(value, 1))


def _item(raw: Any, number: int) -> SavedItem:
    try:
        fields = untrusted.obj(raw, "an item")
        _only(fields, {"shot", "take", "key", "action"}, "an item")
        key = fields.get("key")
        action = fields.get("action")
        if action not in _ACTIONS:
            raise BadValue(f"action {show(action)} is not one of {', '.join(sorted(_ACTIONS))}")
        return SavedItem(
            shot=untrusted.shot_name(fields.get("shot")),
            take=_take(fields.get("take")),
            key=None if key is None else untrusted.sha256(key, "key"),
            action=str(action),
        )
    except BadValue as e:
        raise BadValue(f"item {number}: {e}") from None


def _take(value: Any) -> int:
    take = untrusted.count(value, "take", limit=1000)
    if take < 1:
        raise BadValue(f"take {take} is not a take number (1 or more)")
    return take


def _cost(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    fields = untrusted.obj(value, "cost")
    _only(fields, {"amount", "currency"}, "cost")
    return {
        "amount": _shaped(_AMOUNT, fields.get("amount"), "cost amount"),
        "currency": _shaped(_CURRENCY, fields.get("currency"), "cost currency"),
    }
