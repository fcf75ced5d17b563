"""Paid-render records: what every paid render was, kept in the cache for good.

A render costs money and cannot be made again alike, so its record (key, request,
video_id, when, sha256, size) outlives its bytes: `gc` may drop bytes (they can
be fetched again by video_id) but never a record; only `gc --drop-paid-records`
forgets. With the records, going back to earlier inputs finds their takes for
free: look the take keys up, download by video_id if the bytes are gone.

Index entries of the cache (beside cache.py's):
  paid:<take key>          every paid render of that take key (normally one)
  paid-inputs:<shot key>   the numbers of the other takes of those inputs that have
                           a record: take 1's key is the shot key, so its record is
                           paid:<shot key> itself (caches written before list it too)
  paid-shot:<shot name>    the shot keys that shot has had, oldest first
Each is updated in one diskcache transaction, so builds on one machine may
record at once. A build stages its records (cache.py: written with its next
commit); the readers here see them."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shotbuild.store.cache import Cache
from shotbuild.store.lock import LockEntry, ShotTakes
from shotbuild.takes import take_key
from shotbuild.untrusted import is_origin, is_sha256, is_token

_PAID = "paid:"
_INPUTS = "paid-inputs:"
_SHOT = "paid-shot:"


@dataclass(frozen=True)
class PaidRender:
    """One paid render: which take of which inputs, what was asked, what came back."""

    key: str  # the take's key
    inputs_key: str  # the shot's input key (take 1's key)
    take: int
    shot: str  # the shot's name when it was rendered
    video_id: str
    origin: str
    created_at: str  # UTC, ISO 8601 with a Z: when the render was recorded
    sha256: str
    size: int
    duration: float
    request: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def lock_entry(self) -> LockEntry:
        return LockEntry(
            self.key,
            self.video_id,
            self.sha256,
            self.size,
            self.duration,
            self.origin,
            self.created_at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "inputs_key": self.inputs_key,
            "take": self.take,
            "shot": self.shot,
            "video_id": self.video_id,
            "origin": self.origin,
            "created_at": self.created_at,
            "sha256": self.sha256,
            "size": self.size,
            "duration": self.duration,
            "request": dict(self.request),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PaidRender:
        return cls(
            key=str(raw["key"]),
            inputs_key=str(raw["inputs_key"]),
            take=int(raw["take"]),
            shot=str(raw["shot"]),
            video_id=str(raw["video_id"]),
            origin=str(raw["origin"]),
            created_at=str(raw["created_at"]),
            sha256=str(raw["sha256"]),
            size=int(raw["size"]),
            duration=float(raw["duration"]),
            request=dict(raw.get("request") or {}),
        )

    @classmethod
    def of(
        cls,
        entry: LockEntry,
        *,
        inputs_key: str,
        take: int,
        shot: str,
        request: Mapping[str, Any] | None = None,
    ) -> PaidRender:
        """The record of a finished take (a lock entry) of `inputs_key`."""
        if entry.key != take_key(inputs_key, take):
            raise ValueError(f"{entry.key[:12]} is not the key of take {take} of {inputs_key[:12]}")
        return cls(
            key=entry.key,
            inputs_key=inputs_key,
            take=take,
            shot=shot,
            video_id=entry.video_id,
            origin=entry.origin,
            created_at=entry.built_at,
            sha256=entry.sha256,
            size=entry.size,
            duration=entry.duration,
            request=dict(request or {}),
        )


@dataclass(frozen=True)
class InputsOnRecord:
    """One version of a shot's inputs and its takes on record."""

    inputs_key: str
    takes: Mapping[int, PaidRender]  # the latest record of each take number

    @property
    def request(self) -> Mapping[str, Any]:
        first = self.takes[min(self.takes)]
        return first.request

    @property
    def first_at(self) -> str:
        return min(r.created_at for r in self.takes.values())

    def shot_takes(self, pick: int | None = None) -> ShotTakes:
        """These takes as a lock's shot (picking `pick`, else the lowest number)."""
        entries = {n: r.lock_entry() for n, r in self.takes.items()}
        return ShotTakes(self.inputs_key, entries, pick if pick is not None else min(entries))


def record_paid(cache: Cache, render: PaidRender) -> None:
    """Keep the record of a paid render (again is harmless: one per video_id). Take 1
    is not listed under its inputs: its record is found by their key (a first build
    writes one row less per shot, and reads one less)."""
    index = cache.index
    with index.transact():
        known = _raw_list(index.get(f"{_PAID}{render.key}"))
        if not any(isinstance(r, dict) and r.get("video_id") == render.video_id for r in known):
            index.set(f"{_PAID}{render.key}", [*known, render.to_json()])
        if render.take != 1:
            listed = _raw_list(index.get(f"{_INPUTS}{render.inputs_key}"))
            if render.take not in listed:
                numbers = {n for n in listed if isinstance(n, int)} | {render.take}
                index.set(f"{_INPUTS}{render.inputs_key}", sorted(numbers))
        keys = [k for k in _raw_list(index.get(f"{_SHOT}{render.shot}")) if isinstance(k, str)]
        if render.inputs_key not in keys:
            index.set(f"{_SHOT}{render.shot}", [*keys, render.inputs_key])


def written_by(render: PaidRender) -> tuple[str, ...]:
    """The index entries `record_paid(cache, render)` writes."""
    inputs = (f"{_INPUTS}{render.inputs_key}",) if render.take != 1 else ()
    return (f"{_PAID}{render.key}", *inputs, f"{_SHOT}{render.shot}")


def take_numbers(cache: Cache, inputs_key: str, known: int = 0) -> list[int]:
    """The numbers of the takes of `inputs_key` on record, and `known` (a take about
    to be, not read again: take 1 is read from its own record)."""
    numbers = {n for n in _listed(cache, inputs_key) if n >= 1} | ({known} if known else set())
    if 1 not in numbers and cache.read(f"{_PAID}{inputs_key}") is not None:
        numbers.add(1)
    return sorted(numbers)


def _listed(cache: Cache, inputs_key: str) -> list[int]:
    """The take numbers listed under `inputs_key` (take 1 is not, since it has its own
    record under that key; listed in caches written before)."""
    return [n for n in _raw_list(cache.read(f"{_INPUTS}{inputs_key}")) if isinstance(n, int)]


def paid_records(cache: Cache, key: str) -> list[PaidRender]:
    """Every paid render of the take key `key`, oldest first."""
    return _records(cache.read(f"{_PAID}{key}"))


def latest_paid(cache: Cache, key: str) -> PaidRender | None:
    """The newest paid render of the take key `key` (what a lock would hold)."""
    records = paid_records(cache, key)
    return records[-1] if records else None


def takes_on_record(cache: Cache, inputs_key: str) -> InputsOnRecord | None:
    """The takes of the inputs `inputs_key` that were ever paid for, or None."""
    takes: dict[int, PaidRender] = {}
    for number in sorted({1, *_listed(cache, inputs_key)}):
        if number >= 1:
            found = latest_paid(cache, take_key(inputs_key, number))
            if found is not None:
                takes[number] = found
    return InputsOnRecord(inputs_key, takes) if takes else None


def shot_history(cache: Cache, shot: str) -> list[InputsOnRecord]:
    """Every version of the inputs the shot named `shot` was paid for, oldest first."""
    history = []
    for inputs_key in _raw_list(cache.read(f"{_SHOT}{shot}")):
        found = takes_on_record(cache, str(inputs_key))
        if found is not None:
            history.append(found)
    return history


def all_paid(cache: Cache) -> Iterator[PaidRender]:
    """Every paid render on record, in no order."""
    for key in cache.keys(_PAID):
        yield from paid_records(cache, key)


def forget_paid(cache: Cache, keep: set[str]) -> int:
    """Drop every paid-render record whose take key is not in `keep`; the number
    dropped. Only `gc --drop-paid-records` calls it."""
    dropped = 0
    for key in cache.keys(_PAID):
        if key not in keep:
            dropped += len(paid_records(cache, key))
            cache.delete(f"{_PAID}{key}")
    return dropped


def adoptable(cache: Cache, key: str, entry: LockEntry, shot: str = "") -> PaidRender | None:
    """The record to make of a finished render the cache holds only as
    `result:<key>` (written by an engine that did not record paid renders): take 1
    of its key. None when it is on record already, or is not a paid render (a
    preview has no http(s) origin)."""
    if not (is_origin(entry.origin) and is_token(entry.video_id) and is_sha256(entry.sha256)):
        return None
    if any(r.video_id == entry.video_id for r in paid_records(cache, key)):
        return None
    entry = dataclasses.replace(entry, key=key)  # the key it is kept under
    request = cache.request(key) or {}
    return PaidRender.of(entry, inputs_key=key, take=1, shot=shot, request=request)


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _raw_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _records(value: Any) -> list[PaidRender]:
    out = []
    for raw in _raw_list(value):
        try:
            out.append(PaidRender.from_json(raw))
        except (KeyError, TypeError, ValueError):
            continue  # a damaged record (the cache is local): skip it, keep the rest
    return out
