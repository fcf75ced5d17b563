"""The planner: spec + cache + lock + build folder -> what a build would do, and why.

Pure and offline: no network, no writes (the stats of the local files it hashed
are in `Plan.hashed`, for a build to save). Each shot gets one status and a
structured reason (shotbuild.reasons), so "why does this rebuild?" always has an
answer; the reason becomes words only where it is shown."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, TypeVar

from shotbuild.backends.base import NO_CREDIT, Backend, is_remote
from shotbuild.heygen.origin import key_identity
from shotbuild.keys import Request, StatCachedHasher, accepted_keys, diff_requests, shot_keys
from shotbuild.money import Money, PriceTable, default_table, zero
from shotbuild.reasons import Change, Code, Problem, Reason, words
from shotbuild.request import cosmetic_of
from shotbuild.spec.model import DEFAULT_DURATION, Shot, Spec
from shotbuild.status import PENDING, RENDERS, ShotStatus
from shotbuild.store.cache import JOB_DONE, JOB_FAILED, JOB_INTENT, JOB_SUBMITTED, Cache, JobRecord
from shotbuild.store.lock import LockEntry, LockFile, ShotTakes, read_lock_file
from shotbuild.store.outputs import Manifest, Owned
from shotbuild.takes import MAX_TAKE_NUMBER, take_key
from shotbuild.value import Value

if TYPE_CHECKING:
    from shotbuild.store.remote import RemoteCache

PLAN_FORMAT_VERSION = 1

# the statuses, defined once in shotbuild.status
NEW = ShotStatus.NEW
CHANGED = ShotStatus.CHANGED
UP_TO_DATE = ShotStatus.UP_TO_DATE
COSMETIC = ShotStatus.COSMETIC
RESTORE = ShotStatus.RESTORE
IN_FLIGHT = ShotStatus.IN_FLIGHT
FAILED = ShotStatus.FAILED
REMOVED = ShotStatus.REMOVED
ORPHAN = ShotStatus.ORPHAN
__all__ = [
    "PENDING",
    "RENDERS",
    "Orphan",
    "Plan",
    "PlanItem",
    "Removed",
    "Render",
    "Restore",
    "Resume",
    "Settled",
    "ShotItem",
    "ShotStatus",
    "UnfinishedTake",
    "Work",
    "make_plan",
]

AUTO_DURATION_MAX = 15  # auto_duration is counted at its most: plans never under-promise
Stat = tuple[int, int, int, str]
T = TypeVar("T", bound="PlanItem")
R = TypeVar("R", LockEntry, Owned)


_ITEM_FIELDS = ("name", "status", "why", "output", "seconds", "key")


class PlanItem(Value):
    """What the plan says of one shot; each status has its own type, with only the
    fields that status has (Settled, Render, Resume, Restore, Removed, Orphan)."""

    __slots__ = ("_output", "key", "name", "seconds", "status", "why")
    FIELDS: ClassVar[tuple[str, ...]] = _ITEM_FIELDS

    name: str
    status: ShotStatus
    why: Reason
    _output: Path | str  # a Path is made when asked for (a no-op asks for none)
    seconds: float  # seconds of video a build would pay for
    key: str | None  # None only for a removed shot

    def __init__(
        self,
        *,
        name: str,
        status: ShotStatus,
        why: Reason,
        output: Path | str,
        seconds: float = 0.0,
        key: str | None = None,
    ) -> None:
        self.name = name
        self.status = status
        self.why = why
        self._output = output
        self.seconds = seconds
        self.key = key

    @property
    def output(self) -> Path:
        """Where its output goes."""
        output = self._output
        if type(output) is str:
            output = self._output = Path(output)
        assert isinstance(output, Path)
        return output

    @property
    def where(self) -> str:
        """`output` as text (without making a Path)."""
        return str(self._output)

    @property
    def reason(self) -> str:
        return words(self.why)

    @property
    def job_key(self) -> str | None:
        """The key its work is recorded under (ShotItem: the key of its own take)."""
        return self.key

    @property
    def fields(self) -> tuple[str, ...]:
        return self.why.fields

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "output": str(self.output),
            "key": self.key,
            "seconds": self.seconds,
        }
        if self.fields:
            doc["fields"] = list(self.fields)
        return doc


_SHOT_FIELDS = ("shot", "request", "take", "as_pick", "wanted")


class ShotItem(PlanItem):
    """An item of a shot in the spec: its key and the request the key is made of."""

    __slots__ = _SHOT_FIELDS
    FIELDS: ClassVar[tuple[str, ...]] = _ITEM_FIELDS + _SHOT_FIELDS
    HIDDEN = frozenset(("shot", "request"))

    shot: Shot
    key: str
    request: Request
    take: int  # 1: the shot's render; n > 1: another take of its inputs (a reroll)
    as_pick: bool  # a reroll's take becomes the pick and the output (--pick)
    wanted: bool  # a take `takes: N` asks for, beside the shot's own item (Plan.extra)

    def __init__(
        self,
        *,
        name: str,
        status: ShotStatus,
        why: Reason,
        output: Path | str,
        key: str,
        shot: Shot,
        request: Request,
        seconds: float = 0.0,
        take: int = 1,
        as_pick: bool = True,
        wanted: bool = False,
    ) -> None:
        # PlanItem's fields set here too: one call per item (a no-op makes one per shot)
        self.name = name
        self.status = status
        self.why = why
        self._output = output
        self.seconds = seconds
        self.key = key
        self.shot = shot
        self.request = request
        self.take = take
        self.as_pick = as_pick
        self.wanted = wanted

    @property
    def job_key(self) -> str:
        """The key of the take this item renders (take 1: the shot's key)."""
        return self.key if self.take == 1 else take_key(self.key, self.take)

    @property
    def label(self) -> str:
        """How progress lines name it: the shot, or "a (take 2)" for another take."""
        if self.take == 1 and not self.wanted:
            return self.name
        return f"{self.name} (take {self.take})"


class Settled(ShotItem):
    """UP_TO_DATE, or COSMETIC (only title/callback_url to record)."""

    __slots__ = ()


class Render(ShotItem):
    """NEW, CHANGED or FAILED: a render to pay for (or, locally, to make)."""

    __slots__ = ("forced", "previous")
    FIELDS: ClassVar[tuple[str, ...]] = (*ShotItem.FIELDS, "forced", "previous")

    forced: bool  # --force: render again whatever the records say
    previous: JobRecord | None  # the job that failed or was refused (attempts count on)

    def __init__(
        self, *, forced: bool = False, previous: JobRecord | None = None, **item: Any
    ) -> None:
        super().__init__(**item)
        self.forced = forced
        self.previous = previous


class Resume(ShotItem):
    """IN_FLIGHT: a job already submitted (or its create unanswered), to see through."""

    __slots__ = ("forced", "job")
    FIELDS: ClassVar[tuple[str, ...]] = (*ShotItem.FIELDS, "job", "forced")

    job: JobRecord
    forced: bool  # a forced render killed after its intent or create

    def __init__(self, *, job: JobRecord, forced: bool = False, **item: Any) -> None:
        super().__init__(**item)
        self.job = job
        self.forced = forced

    def to_json(self) -> dict[str, Any]:
        doc = super().to_json()
        if self.job.video_id:
            doc["video_id"] = self.job.video_id
        return doc


class Restore(ShotItem):
    """RESTORE: a render already paid for, from the cache or the lock (no render)."""

    __slots__ = ("result", "source")
    FIELDS: ClassVar[tuple[str, ...]] = (*ShotItem.FIELDS, "result", "source")

    result: LockEntry  # its key is the shot's key
    source: str  # "cache" (a local blob), "lock" (download again) or "output" (record only)

    def __init__(self, *, result: LockEntry, source: str, **item: Any) -> None:
        super().__init__(**item)
        self.result = result
        self.source = source

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "source": self.source}


class Removed(PlanItem):
    """REMOVED: a shot that left the spec (its lock entry, its output)."""

    __slots__ = ()


class Orphan(PlanItem):
    """ORPHAN: a job of an earlier version of a shot, finished into the cache. With
    `take` (status IN_FLIGHT): the job of a new take (a killed reroll's or force's)
    of the shot's current inputs, finished into the cache so that the same reroll or
    force, run again, takes it from there without paying again."""

    __slots__ = ("job", "take")
    FIELDS: ClassVar[tuple[str, ...]] = (*_ITEM_FIELDS, "job", "take")

    key: str
    job: JobRecord
    take: int | None

    def __init__(self, *, key: str, job: JobRecord, take: int | None = None, **item: Any) -> None:
        super().__init__(key=key, **item)
        self.job = job
        self.take = take

    @property
    def label(self) -> str:
        """How progress lines name it: "a (earlier version)", or "a (take 2)"."""
        return f"{self.name} (take {self.take})" if self.take else f"{self.name} (earlier version)"

    def to_json(self) -> dict[str, Any]:
        doc = {**super().to_json(), "video_id": self.job.video_id}
        return {**doc, "take": self.take} if self.take else doc


class UnfinishedTake(NamedTuple):
    """A new take (of a reroll or a `build --force`) of a shot's current inputs whose
    job was started and never finished: the same reroll or force resumes it."""

    take: int
    job: JobRecord

    def to_json(self) -> dict[str, Any]:
        return {"take": self.take, "video_id": self.job.video_id}


Work = Render | Resume | Restore  # what a build has to do something for


class Plan(Value):
    """What a build of the spec would do: an item per shot, with its reason. A
    value (see shotbuild.value); no __slots__, for its cached_property."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "spec",
        "backend",
        "items",
        "lock",
        "build_dir",
        "outputs",
        "orphans",
        "settled",
        "hashed",
        "takes",
        "prices",
        "served",
        "extra",
        "on_record",
        "unfinished",
    )
    HIDDEN = frozenset(("outputs", "hashed", "takes", "prices", "on_record", "unfinished"))

    def __init__(
        self,
        spec: Spec,
        backend: str,
        items: tuple[PlanItem, ...],
        lock: Mapping[str, LockEntry],
        build_dir: Path,
        outputs: Mapping[str, Owned],
        orphans: tuple[Orphan, ...] = (),
        settled: tuple[str, ...] = (),
        hashed: Mapping[str, Stat] | None = None,
        takes: LockFile | None = None,
        prices: PriceTable | None = None,
        served: frozenset[str] = frozenset(),
        extra: tuple[Work, ...] = (),
        on_record: Mapping[str, int] | None = None,
        unfinished: Mapping[str, UnfinishedTake] | None = None,
    ) -> None:
        self.spec = spec
        self.backend = backend
        self.items = items
        self.lock = lock
        self.build_dir = build_dir
        self.outputs = outputs  # the build folder's manifest, as read
        # jobs this spec submitted for keys no shot has now: not work to pay for, but a
        # build finishes them into the cache (not build/, not the lock)
        self.orphans = orphans
        self.settled = settled  # keys listed in flight that need nothing more
        self.hashed: Mapping[str, Stat] = {} if hashed is None else hashed  # new stat rows
        self.takes = LockFile() if takes is None else takes  # the lock, every take
        # the price table in force; None for a backend that renders for free (the preview)
        self.prices = prices
        # keys of renders a configured remote cache already holds (result and blob): a
        # build restores them from there, so they are not counted as renders to pay for
        self.served = served
        # the takes `takes: N` asks for that the shots' own items do not make (a shot's
        # takes 2..N, or take 1 when another take is the pick): each its own job and key
        self.extra = extra
        # shot -> takes of its current inputs on record (the lock's, and paid renders');
        # only for a paid backend (a preview never enters the lock)
        self.on_record: Mapping[str, int] = {} if on_record is None else on_record
        # shot -> its new take (a reroll's or a force's) killed before it finished
        self.unfinished: Mapping[str, UnfinishedTake] = {} if unfinished is None else unfinished

    @property
    def seconds(self) -> float:
        return sum(item.seconds for item in (*self.items, *self.extra))

    @property
    def renders(self) -> int:
        """Renders a build would pay for (what the lock or a cache serves is not one)."""
        return self.renders_among(self.items)

    @functools.cached_property
    def _extra_by_name(self) -> Mapping[str, tuple[Work, ...]]:
        by_name: dict[str, tuple[Work, ...]] = {}
        for take in self.extra:
            by_name[take.name] = (*by_name.get(take.name, ()), take)
        return by_name

    def takes_of(self, item: PlanItem) -> tuple[Work, ...]:
        """The extra takes planned for `item`'s shot (none for an extra take itself)."""
        if not self.extra or (isinstance(item, ShotItem) and item.wanted):
            return ()
        return self._extra_by_name.get(item.name, ())

    def extra_among(self, items: Collection[PlanItem]) -> list[Work]:
        """The extra takes of the shots of `items` (what a build of them also makes)."""
        if not self.extra:
            return []
        names = {item.name for item in items}
        return [take for take in self.extra if take.name in names]

    def renders_among(self, items: Collection[PlanItem]) -> int:
        return sum(self.renders_of(item) for item in items)

    def renders_of(self, item: PlanItem) -> int:
        """Renders a build would pay for this item: one for a shot to render that no
        remote cache serves, plus one for each extra take of its shot to render."""
        if not self.extra and not self.served:  # the usual plan: the item alone
            return renders_of(item)
        return sum(self._own_renders(unit) for unit in (item, *self.takes_of(item)))

    def _own_renders(self, item: PlanItem) -> int:
        return 0 if item.job_key in self.served else renders_of(item)

    def seconds_among(self, items: Collection[PlanItem]) -> float:
        """Seconds of video `items` (and their shots' extra takes) would render."""
        return sum(item.seconds for item in (*items, *self.extra_among(items)))

    def cost_of(self, item: PlanItem) -> Money | None:
        """What `item` (with its shot's extra takes) would cost; None when free (a
        local backend) or not priced."""
        if self.prices is None:
            return None
        renders = self.renders_of(item)
        if not renders or not isinstance(item, ShotItem):
            return zero(self.prices.currency)
        seconds = max(unit.seconds for unit in (item, *self.takes_of(item)))
        return self.prices.cost(item.shot.api_type, renders, seconds)

    def render_cost(self, shot: Shot) -> Money | None:
        """What one render of `shot` costs; None when free or not priced."""
        if self.prices is None:
            return None
        return self.prices.cost(shot.api_type, 1, seconds_of(shot))

    def cost_among(self, items: Collection[PlanItem]) -> Money | None:
        """What `items` (of this plan) would cost together; None when free or any is unpriced."""
        if self.prices is None:
            return None
        total = zero(self.prices.currency)
        for item in items:
            if not self.renders_of(item):
                continue  # costs zero, and adding zero to a sum begun at zero changes nothing
            cost = self.cost_of(item)
            if cost is None:
                return None
            total = total + cost
        return total

    @property
    def cost(self) -> Money | None:
        return self.cost_among(self.items)

    @property
    def pending(self) -> bool:
        return bool(self.extra) or any(item.status in PENDING for item in self.items)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.status.value] = out.get(item.status.value, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "spec": str(self.spec.path),
            "backend": self.backend,
            "seconds": self.seconds,
            "pending": self.pending,
            "counts": self.counts(),
            "renders": self.renders,
            "cost": _money_json(self.cost),
            "shots": [self._item_json(item) for item in self.items],
            "orphans": [item.to_json() for item in self.orphans],
        }

    def _item_json(self, item: PlanItem) -> dict[str, Any]:
        doc = {
            **item.to_json(),
            "seconds": self.seconds_among((item,)),
            "renders": self.renders_of(item),
            "cost": _money_json(self.cost_of(item)),
        }
        if isinstance(item, ShotItem):
            doc["takes_wanted"] = item.shot.takes
            doc["takes_on_record"] = self.on_record.get(item.name, 0)
            doc["takes_planned"] = [_take_json(take) for take in self.takes_of(item)]
            if item.name in self.unfinished:
                doc["take_unfinished"] = self.unfinished[item.name].to_json()
        return doc


def _take_json(take: Work) -> dict[str, Any]:
    doc = {"take": take.take, "status": take.status.value, "reason": take.reason}
    if isinstance(take, Resume) and take.job.video_id:
        doc["video_id"] = take.job.video_id
    return doc


def renders_of(item: PlanItem) -> int:
    """The renders a build would pay for this item alone: one for a shot (or a take)
    to render, none for what is restored or resumed (Plan.renders_of adds a shot's
    extra takes)."""
    return 1 if item.status in RENDERS else 0


def served_remotely(plan: Plan, remote: RemoteCache | None) -> Plan:
    """`plan`, knowing which of its renders `remote` already holds (its result and its
    blob; a forced render or another take is rendered anyway). Asks the remote cache,
    never the API; a fault there counts the render (a plan never under-promises)."""
    if remote is None or plan.prices is None:
        return plan
    served = {
        item.job_key  # a take's own key: another machine may have made that take
        for item in (*plan.items, *plan.extra)
        if isinstance(item, Render) and not item.forced and _remote_has(remote, item.job_key)
    }
    return plan.replace(served=frozenset(served))


def _remote_has(remote: RemoteCache, key: str) -> bool:
    from shotbuild.errors import ShotbuildError

    try:
        entry = remote.get_result(key) if remote.readable else None
        return entry is not None and remote.has_blob(entry.sha256)
    except ShotbuildError:
        return False


def _money_json(cost: Money | None) -> dict[str, str] | None:
    return cost.as_json() if cost is not None else None


def output_rel(backend: Backend, name: str) -> str:
    return f"{backend.subdir}/{name}.mp4" if backend.subdir else f"{name}.mp4"


def build_dir_of(spec: Spec, out: Path | None = None) -> Path:
    return out.resolve() if out is not None else spec.build_dir


def seconds_of(shot: Shot, auto: float = AUTO_DURATION_MAX) -> float:
    """Seconds of video a shot renders; `auto` for auto_duration (HeyGen's most, or
    what a local backend renders)."""
    if shot.auto_duration or shot.duration is None:
        return float(auto)
    return float(shot.duration)


class CacheView:
    """What the planner reads from the cache, never creating it: a cache folder
    that holds no index yet reads as empty."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache if (cache.directory / "index").is_dir() else None
        self._blobs = cache
        self.hashed: dict[str, Stat] = {}  # stats the planner computed: saved by a build

    def job(self, key: str) -> JobRecord | None:
        return self._cache.job(key) if self._cache else None

    def result(self, key: str) -> LockEntry | None:
        return self._cache.result(key) if self._cache else None

    def request(self, key: str) -> dict[str, Any] | None:
        return self._cache.request(key) if self._cache else None

    def in_flight(self, spec_path: Path) -> dict[str, str]:
        return self._blobs.in_flight(spec_path)

    def paid_takes(self, inputs_key: str) -> dict[int, LockEntry]:
        """The takes of the inputs `inputs_key` a paid-render record keeps, by number."""
        from shotbuild.store.records import takes_on_record  # not read by a no-op build

        found = takes_on_record(self._cache, inputs_key) if self._cache else None
        return {n: r.lock_entry() for n, r in found.takes.items()} if found else {}

    def has_blob(self, sha256: str, size: int) -> bool:
        return self._blobs.has_blob(sha256, size)

    def stat_load(self, path: str) -> Stat | None:
        known = self.hashed.get(path)
        if known is None and self._cache is not None:
            known = self._cache.stat_load(path)
        return known

    def stat_save(self, path: str, value: Stat) -> None:
        self.hashed[path] = value


def make_plan(
    spec: Spec,
    backend: Backend,
    cache: Cache,
    *,
    out: Path | None = None,
    force: Collection[str] = (),
    manifest: Manifest | None = None,
    prices: PriceTable | None = None,
) -> Plan:
    """What a build would do. Reads the lock, the build folder's manifest and the
    cache; writes nothing (the stats of files it hashed are in `Plan.hashed`). Its
    money is priced by `prices` (default: shotbuild's table) for a paid backend."""
    build_dir = build_dir_of(spec, out)
    remote = is_remote(backend)
    lock_file = read_lock_file(spec.lock_path) if remote else LockFile()
    lock = lock_file.current()  # each shot's picked take, keyed by the shot's key
    manifest = manifest if manifest is not None else Manifest(build_dir)
    view = CacheView(cache)
    hasher = StatCachedHasher(view.stat_load, view.stat_save, root=spec.root)
    keys = shot_keys(spec, backend.identity, hasher)
    live = view.in_flight(spec.path) if remote else {}
    planner = _Planner(backend, remote, view, lock, manifest, spec.path, live)
    items = [planner.item(shot, *keys[shot.name], forced=shot.name in force) for shot in spec.shots]
    items += planner.removed({shot.name for shot in spec.shots})
    orphans: tuple[Orphan, ...] = ()
    settled: tuple[str, ...] = ()
    extra: list[Work] = []
    on_record: dict[str, int] = {}
    unfinished: dict[str, UnfinishedTake] = {}
    if remote:
        for item in items:
            if isinstance(item, ShotItem):
                on_record[item.name], work = planner.wanted_takes(item, lock_file)
                extra += work
        current = {key for key, _ in keys.values()} | {take.job_key for take in extra}
        unfinished = planner.unfinished(items, lock_file, live, current)
        orphans, settled = planner.orphans(live, current, unfinished)
    outputs = dict(manifest.entries)
    table = (prices or default_table()) if remote else None
    return Plan(
        spec,
        backend.name,
        tuple(items),
        lock,
        build_dir,
        outputs,
        orphans,
        settled,
        view.hashed,
        lock_file,
        table,
        extra=tuple(extra),
        on_record=on_record,
        unfinished=unfinished,
    )


class TakeRecords(Protocol):
    """What planning a take reads: the cache (or the planner's read-only view of it)."""

    def result(self, key: str) -> LockEntry | None: ...

    def job(self, key: str) -> JobRecord | None: ...

    def has_blob(self, sha256: str, size: int) -> bool: ...


def takes_keys(item: ShotItem, identity: str, takes: ShotTakes | None) -> tuple[str, ...]:
    """The keys the shot's takes in the lock may have and still be of its current
    inputs at backend `identity` (`keys.accepted_keys`, with the origins the takes
    name): the planner, the recorder, reroll and take files ask this one rule."""
    origins = [e.origin for e in takes.takes.values()] if takes is not None else []
    return accepted_keys(identity, item.request, item.shot.api_type, *origins)


def take_item(
    item: ShotItem,
    number: int,
    records: TakeRecords,
    why: Reason,
    *,
    seconds: float,
    pick: bool = False,
    wanted: bool = False,
    forced: bool = False,
) -> Work:
    """The work of take `number` of `item`'s inputs, by its own key: restored when a
    build finished it into the cache, resumed when its job was started (never paid
    twice), else rendered (again, after a failure: its attempts count on). `forced`:
    `build --force`'s take, a render of which counts as changed and a resumed job
    of which says it is a forced one."""
    base: dict[str, Any] = {
        "name": item.name,
        "output": item.output,
        "key": item.key,
        "request": item.request,
        "shot": item.shot,
        "take": number,
        "as_pick": pick,
        "wanted": wanted,
    }
    key = take_key(item.key, number)
    result = records.result(key)
    if result is not None:
        source = "cache" if records.has_blob(result.sha256, result.size) else "lock"
        return Restore(status=RESTORE, why=why, result=result, source=source, **base)
    job = records.job(key)
    if job is not None and job.state in (JOB_INTENT, JOB_SUBMITTED):
        code = Code.SUBMITTED if job.video_id else Code.CREATE_UNANSWERED
        facts = {"video_id": job.video_id or ""}
        why = Reason(Code.FORCED_RESUMED if forced else code, facts=facts)
        return Resume(status=IN_FLIGHT, why=why, job=job, **base)
    previous = job if job is not None and job.state == JOB_FAILED else None
    status = CHANGED if forced else NEW
    return Render(status=status, why=why, seconds=seconds, previous=previous, **base)


# The reason of every shot that is up to date: one value (frozen), not one per shot
_MATCHES = Reason(Code.MATCHES)


def _refused(item: Render, job: JobRecord) -> Render:
    """A new or changed shot whose create was refused last time for want of credit:
    said so, its attempt counted on (`previous`), as a failed render's is."""
    why = Reason(Code.NO_CREDIT, item.why.changes)
    return item.replace(why=why, previous=job)


def _item(cls: type[T], status: ShotStatus, code: Code, base: dict[str, Any], **kw: Any) -> T:
    facts = kw.pop("facts", None)
    why = Reason(code, kw.pop("changes", ()), facts)
    return cls(status=status, why=why, **base, **kw)


class _Planner:
    """What the plan of each shot is made from: the lock, the cache, the build folder."""

    def __init__(
        self,
        backend: Backend,
        remote: bool,  # results are paid jobs kept in shots.lock
        cache: CacheView,
        lock: Mapping[str, LockEntry],
        manifest: Manifest,
        spec_path: Path,
        live: Mapping[str, str],  # keys of the spec's jobs in flight -> their shot
    ) -> None:
        self.backend = backend
        self.remote = remote
        self.cache = cache
        self.lock = lock
        self.manifest = manifest
        self.spec_path = spec_path
        self.live = live

    def seconds(self, shot: Shot) -> float:
        return seconds_of(shot, AUTO_DURATION_MAX if self.remote else DEFAULT_DURATION)

    def item(self, shot: Shot, key: str, request: Request, *, forced: bool) -> PlanItem:
        rel = output_rel(self.backend, shot.name)
        where = f"{self.manifest.build_dir}{os.sep}{rel}"  # one stat, no path parsing
        base: dict[str, Any] = {
            "name": shot.name,
            "output": where,  # a Path only when one is asked for
            "key": key,
            "request": request,
            "shot": shot,
        }
        entry = self._adopted(self.lock.get(shot.name), shot, key, request)
        interrupted = self._interrupted_force(key, entry)
        if interrupted is not None:
            return self._resume_forced(interrupted, base)
        if not forced:
            return self._by_records(shot, key, request, entry, base)
        if entry is None and self.remote:
            # a shot the lock has no entry for: the take 1 a build killed before its lock
            # named it left (its job created, its render on record or in place), which
            # nobody has seen, is taken rather than paid for again (a local render has
            # no takes: forced, it renders again)
            item = self._by_records(shot, key, request, entry, base)
            if not isinstance(item, Render):
                return item
        seconds = self.seconds(shot)
        return _item(Render, CHANGED, Code.FORCED, base, seconds=seconds, forced=True)

    def _by_records(
        self,
        shot: Shot,
        key: str,
        request: Request,
        entry: LockEntry | None,
        base: dict[str, Any],
    ) -> PlanItem:
        where = str(base["output"])
        owned = self.manifest.get(output_rel(self.backend, shot.name))
        owned = self._adopted(owned, shot, key, request, entry)
        result = entry if entry is not None and entry.key == key else None
        in_place = owned is not None and owned.key == key and owned.matches(where)
        if owned is not None and in_place and (not self.remote or _same(result, owned)):
            return self._current(shot, owned, base)
        if result is None and in_place and owned is not None:
            result = owned.lock_entry()  # the lock lost it, the output still says what it is
        if result is None:
            result = self._cached(shot, key, request)
        if result is not None:
            return self._restore(result, owned, base, in_place=in_place)
        job = self.cache.job(key) if self.remote else None
        if job is not None and job.state != JOB_DONE:
            if job.failure_code == NO_CREDIT:  # refused: nothing was rendered
                item = self._new_or_changed(shot, entry, owned, request, base)
                return _refused(item, job)
            return self._from_job(shot, job, base)
        return self._new_or_changed(shot, entry, owned, request, base)

    def _adopted(
        self,
        record: R | None,
        shot: Shot,
        key: str,
        request: Request,
        entry: LockEntry | None = None,
    ) -> R | None:
        """`record` (a lock entry, or an output's record with the shot's lock `entry`),
        under the shot's key when it was made under a key this shot may have had
        (`keys.accepted_keys`: the other type name, a loopback origin it names):
        adopted, not re-paid."""
        if record is None or record.key == key:
            return record
        origins = (record.origin, entry.origin if entry is not None else None)
        accepted = accepted_keys(self.backend.identity, request, shot.api_type, *origins)
        return record.replace(key=key) if record.key in accepted else record

    def _cached(self, shot: Shot, key: str, request: Request) -> LockEntry | None:
        """The render the local cache holds under any key this shot may have had."""
        result = self.cache.result(key)
        if result is not None:
            return result
        for accepted in accepted_keys(self.backend.identity, request, shot.api_type)[1:]:
            result = self.cache.result(accepted)
            if result is not None:
                return result  # a restore records it under `key`
        return None

    def _interrupted_force(self, key: str, entry: LockEntry | None) -> JobRecord | None:
        """A forced render of this very key killed after its intent or create: its
        job is unfinished and is not the one the lock (or the output) holds."""
        if key not in self.live or entry is None or entry.key != key:
            return None  # the list of jobs in flight is a small file: no index lookup
        job = self.cache.job(key)
        if job is None or job.state not in (JOB_INTENT, JOB_SUBMITTED):
            return None
        return job if job.video_id != entry.video_id else None

    def _resume_forced(self, job: JobRecord, base: dict[str, Any]) -> PlanItem:
        facts = {"video_id": job.video_id or ""}
        return _item(
            Resume, IN_FLIGHT, Code.FORCED_RESUMED, base, job=job, facts=facts, forced=True
        )

    def _from_job(self, shot: Shot, job: JobRecord, base: dict[str, Any]) -> PlanItem:
        if job.state != JOB_FAILED:
            if job.video_id:
                facts = {"video_id": job.video_id}
                return _item(Resume, IN_FLIGHT, Code.SUBMITTED, base, job=job, facts=facts)
            return _item(Resume, IN_FLIGHT, Code.CREATE_UNANSWERED, base, job=job)
        why = ": ".join(x for x in (job.failure_code, job.failure_message) if x)
        seconds = self.seconds(shot)
        facts = {"failure": why}
        return _item(
            Render, FAILED, Code.RENDER_FAILED, base, seconds=seconds, previous=job, facts=facts
        )

    def _new_or_changed(
        self,
        shot: Shot,
        entry: LockEntry | None,
        owned: Owned | None,
        request: Request,
        base: dict[str, Any],
    ) -> Render:
        previous = entry.key if entry is not None else (owned.key if owned else None)
        seconds = self.seconds(shot)
        if previous is None:
            return _item(Render, NEW, Code.NEVER_BUILT, base, seconds=seconds)
        old = self.cache.request(previous)
        changes = _changes(old, request) if old is not None else ()
        if changes:
            return _item(
                Render, CHANGED, Code.FIELDS_CHANGED, base, seconds=seconds, changes=changes
            )
        if entry is not None and key_identity(entry.origin) != key_identity(self.backend.identity):
            facts = {"old_origin": entry.origin, "new_origin": self.backend.identity}
            return _item(Render, CHANGED, Code.ORIGIN_CHANGED, base, seconds=seconds, facts=facts)
        return _item(Render, CHANGED, Code.INPUTS_CHANGED, base, seconds=seconds)

    def _current(self, shot: Shot, owned: Owned, base: dict[str, Any]) -> PlanItem:
        if shot.title == owned.title and shot.callback_url == owned.callback_url:
            return Settled(status=UP_TO_DATE, why=_MATCHES, **base)  # the usual case
        cosmetic = cosmetic_of(shot)
        recorded = {"title": owned.title, "callback_url": owned.callback_url}
        changes = tuple(
            Change(k, recorded[k], cosmetic[k])
            for k in sorted(cosmetic)
            if cosmetic[k] != recorded[k]
        )
        if changes:
            return _item(Settled, COSMETIC, Code.COSMETIC_CHANGED, base, changes=changes)
        return Settled(status=UP_TO_DATE, why=_MATCHES, **base)

    def _restore(
        self, result: LockEntry, owned: Owned | None, base: dict[str, Any], *, in_place: bool
    ) -> PlanItem:
        result = result.replace(key=base["key"])  # the executor never re-keys
        if in_place and owned is not None and owned.sha256 == result.sha256:
            return _item(
                Restore, RESTORE, Code.LOCK_ENTRY_MISSING, base, result=result, source="output"
            )
        path = Path(base["output"])
        if not path.exists():
            problem = Problem.MISSING
        elif owned is None:
            problem = Problem.NOT_OURS
        else:
            problem = Problem.DIFFERS
        if self.cache.has_blob(result.sha256, result.size):
            source = "cache"
        elif self.remote:
            source = "lock"
        else:
            seconds = self.seconds(base["shot"])
            facts = {"problem": str(problem)}
            return _item(Render, NEW, Code.RENDER_LEFT_CACHE, base, seconds=seconds, facts=facts)
        facts = {"problem": str(problem), "source": source, "video_id": result.video_id}
        return _item(
            Restore, RESTORE, Code.RESTORE, base, result=result, source=source, facts=facts
        )

    def wanted_takes(self, item: ShotItem, lock_file: LockFile) -> tuple[int, list[Work]]:
        """The takes of the shot's current inputs on record, and the work that makes
        `takes: N` of them exist: takes a paid-render record keeps but the lock lacks
        come back first (free), then the first free numbers are rendered. Take 1 is
        the shot's own item; lowering `takes` drops nothing. A shot up to date under
        a key it had before (adopted: `keys.accepted_keys`) keeps that key: its other
        takes are keyed under the lock's key, beside its take 1, as a reroll's are."""
        shot = lock_file.get(item.name)
        if shot is not None and shot.key != item.key:
            if self._adopted_takes(item, shot):  # under a key it had: no key moves
                item = item.replace(key=shot.key)
            else:
                shot = None  # another version of the inputs: the recorder starts them anew
        locked = set(shot.takes) if shot is not None else set()
        if item.shot.takes <= len(locked):
            return len(locked), []  # the common case: no index lookup
        paid = self.cache.paid_takes(item.key)
        # what the lock will hold: a shot rendered or restored anew gets its take 1
        # and every take on record of its inputs (the recorder brings them back)
        coming = locked if shot is not None else {1, *paid}
        need = item.shot.takes - len(coming)
        back = sorted(set(paid) - coming)[: max(0, need)]
        work: list[Work] = [self._take_back(item, n, paid[n]) for n in back]
        fresh = (n for n in range(1, MAX_TAKE_NUMBER + 1) if n not in coming and n not in paid)
        for n in itertools.islice(fresh, max(0, need - len(back))):
            why = Reason(Code.TAKE_WANTED, facts={"take": str(n), "wanted": str(item.shot.takes)})
            seconds = self.seconds(item.shot)
            work.append(take_item(item, n, self.cache, why, seconds=seconds, wanted=True))
        return len(locked | set(paid)), work

    def _adopted_takes(self, item: ShotItem, shot: ShotTakes) -> bool:
        """Whether the lock's takes of the shot are under a key it may have had: its
        current inputs' takes, kept under that key (the recorder records them there too)."""
        return shot.key in takes_keys(item, self.backend.identity, shot)

    def _take_back(self, item: ShotItem, number: int, entry: LockEntry) -> Restore:
        """A take of these inputs a paid-render record keeps: restored, never re-paid."""
        source = "cache" if self.cache.has_blob(entry.sha256, entry.size) else "lock"
        facts = {"take": str(number), "wanted": str(item.shot.takes), "source": source}
        why = Reason(Code.TAKE_WANTED, facts=facts)
        return Restore(
            name=item.name,
            status=RESTORE,
            why=why,
            output=item.output,
            key=item.key,
            request=item.request,
            shot=item.shot,
            take=number,
            as_pick=False,
            wanted=True,
            result=entry,
            source=source,
        )

    def orphans(
        self,
        tracked: Mapping[str, str],
        current: set[str],
        unfinished: Mapping[str, UnfinishedTake],
    ) -> tuple[tuple[Orphan, ...], tuple[str, ...]]:
        """Jobs the spec submitted whose key no shot has now (edited while they
        rendered), and the listed keys that need nothing more (finished, failed, or a
        create with no video_id: sending it again could start a job nobody wants).
        A shot's `unfinished` new take is no earlier version: with a video_id it is
        finished into the cache as that take; a create of it with no answer stays
        listed, for the reroll or force that resumes it."""
        found: list[Orphan] = []
        settled: list[str] = []
        takes = {u.job.key: u.take for u in unfinished.values()}
        for key, name in sorted(tracked.items(), key=lambda kv: (kv[1], kv[0])):
            if key in current:
                continue
            job = self.cache.job(key)
            if job is None or job.state != JOB_SUBMITTED or job.video_id is None:
                if key not in takes:
                    settled.append(key)
            elif self._same_api(job.origin):  # another API's jobs wait for it
                found.append(self._orphan(name, job, takes.get(key)))
        return tuple(found), tuple(settled)

    def _same_api(self, origin: str) -> bool:
        """Whether a job sent to `origin` is asked of this backend: the identity rule
        of keys (`key_identity`: every loopback origin is one, a real one only itself)."""
        return key_identity(origin) == key_identity(self.backend.identity)

    def _orphan(self, name: str, job: JobRecord, take: int | None) -> Orphan:
        path = self.manifest.build_dir / output_rel(self.backend, name)
        facts = {"video_id": job.video_id or ""}
        if take is None:
            why = Reason(Code.SUBMITTED, facts=facts)
            return Orphan(name=name, status=ORPHAN, why=why, output=path, key=job.key, job=job)
        why = Reason(Code.TAKE_UNFINISHED, facts={**facts, "take": str(take), "shot": name})
        return Orphan(
            name=name, status=IN_FLIGHT, why=why, output=path, key=job.key, job=job, take=take
        )

    def unfinished(
        self,
        items: list[PlanItem],
        lock_file: LockFile,
        tracked: Mapping[str, str],
        current: set[str],
    ) -> dict[str, UnfinishedTake]:
        """Each shot's new take (a reroll's or a force's) whose job the spec's list of
        jobs in flight holds unfinished: a take of the shot's current inputs (under
        its key, or the lock's when that is one the shot may have had), not a job of
        an earlier version. Only the listed keys no shot has now are looked at."""
        shots = {i.name: i for i in items if isinstance(i, ShotItem)}
        found: dict[str, UnfinishedTake] = {}
        for key, name in tracked.items():
            item = shots.get(name)
            if key in current or item is None:
                continue
            number = self._take_number(item, lock_file.get(name), key)
            job = self.cache.job(key) if number is not None else None
            if number is not None and job is not None and job.state in (JOB_INTENT, JOB_SUBMITTED):
                found[name] = UnfinishedTake(number, job)
        return found

    def _take_number(self, item: ShotItem, shot: ShotTakes | None, key: str) -> int | None:
        """n when `key` is take n (> 1) of the item's current inputs, else None. A
        reroll or force makes the lock's next number, so no higher one is tried."""
        bases = {item.key}
        if shot is not None and shot.key != item.key and self._adopted_takes(item, shot):
            bases.add(shot.key)  # the lock's takes are under a key the shot had
        most = min(shot.next_number(), MAX_TAKE_NUMBER) if shot is not None else 2
        for n in range(2, most + 1):
            if any(take_key(base, n) == key for base in bases):
                return n
        return None

    def removed(self, names: set[str]) -> list[Removed]:
        gone: dict[str, Removed] = {}
        for name in sorted(self.lock):
            if name not in names:
                path = self.manifest.build_dir / output_rel(self.backend, name)
                why = Reason(Code.LEFT_SPEC_LOCK)
                gone[name] = Removed(name=name, status=REMOVED, why=why, output=path)
        for rel, owned in sorted(self.manifest.entries.items()):
            mine = owned.backend == self.backend.name and owned.belongs_to(self.spec_path)
            if mine and owned.shot not in names and not rel.startswith("takes/"):  # a take's file
                path = self.manifest.build_dir / rel
                why = Reason(Code.LEFT_SPEC_OUTPUT)
                gone[owned.shot] = Removed(name=owned.shot, status=REMOVED, why=why, output=path)
        return [gone[name] for name in sorted(gone)]


def _same(result: LockEntry | None, owned: Owned) -> bool:
    return result is not None and result.sha256 == owned.sha256


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Change, ...]:
    """The changed fields of a request, with their old and new values."""
    return tuple(Change(path, _at(old, path), _at(new, path)) for path in diff_requests(old, new))


def _at(request: Mapping[str, Any], path: str) -> Any:
    name, _, index = path.partition("[")
    value = request.get(name)
    if not index:
        return value
    i = int(index.rstrip("]"))
    return value[i] if isinstance(value, list) and i < len(value) else None
