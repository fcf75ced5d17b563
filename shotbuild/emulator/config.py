"""How an emulator behaves: its key, timing, limits and the faults it injects.
Plain data (no Starlette), so the CLI can build one without the extra installed."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from shotbuild.errors import UsageError

BILLINGS = ("wallet", "usage_based", "subscription", "none")
TYPE_NAMES = ("avatar_shots", "cinematic_avatar")
CREATE_STATUSES = ("pending", "waiting")


@dataclass
class Faults:
    """What can go wrong, changeable while the emulator runs (POST /_emulator/faults)."""

    latency: float = 2.0  # seconds from create to a terminal status
    create_latency: float = 0.0  # seconds a create takes to answer (409 replays meanwhile)
    failure_rate: float = 0.0  # share of jobs that end `failed`
    error_rate: float = 0.0  # share of API requests answered 500/502/503
    drop_rate: float = 0.0  # share of API requests whose answer breaks off mid-body
    drop_next: int = 0  # the next N API requests break off (after doing their work)
    drop_downloads_next: int = 0  # the next N video downloads break off halfway
    rate_limit_next: int = 0  # the next N API requests get 429 (a burst)
    retry_after: float = 1.0  # Retry-After sent with a burst's 429s
    retry_after_format: str = "seconds"  # or "date" (an HTTP date)
    concurrency: int = 10  # jobs in progress at once; one more gets 429
    link_ttl: float = 7 * 24 * 3600.0  # seconds a video_url stays valid
    expire_links: bool = False  # every video_url answers 403 (as if expired)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply `changes` (from JSON or the command line), checking names and types."""
        known = {f.name for f in fields(self)}
        trial = replace(self)  # all or nothing: a bad change leaves the faults as they were
        for name, value in changes.items():
            if name not in known:
                raise UsageError(f"unknown fault {name!r}: known are {', '.join(sorted(known))}")
            setattr(trial, name, _coerce(name, value, type(getattr(self, name))))
        trial.check()
        for name in known:
            setattr(self, name, getattr(trial, name))

    def check(self) -> None:
        for name in ("failure_rate", "error_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UsageError(f"{name} must be between 0 and 1")
        for name in ("latency", "create_latency", "retry_after", "link_ttl"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} must not be negative")
        if self.concurrency < 1:
            raise UsageError("concurrency must be at least 1")
        if self.retry_after_format not in ("seconds", "date"):
            raise UsageError("retry_after_format must be 'seconds' or 'date'")

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    raise UsageError(f"fault {name!r} must be a {kind.__name__}, not {value!r}")


@dataclass
class EmulatorConfig:
    """An emulator's settings. `api_key=None` accepts any non-empty key (handy for CI);
    `clock` (monotonic seconds) drives job progress, link expiry and idempotency.
    The timing and fault fields here are copied into `faults` (which wins for the
    others), the live values that POST /_emulator/faults changes."""

    api_key: str | None = None
    latency: float = 2.0
    failure_rate: float = 0.0
    error_rate: float = 0.0
    concurrency: int = 10
    link_ttl: float = 7 * 24 * 3600.0
    seed: int | None = None
    create_latency: float = 0.0
    idempotency_window: float = 24 * 3600.0
    strict_ids: bool = False  # unknown look ids and asset ids are 400 avatar_not_found
    callback_secret: str = "whsec_emulator_callback"  # signs deliveries to a callback_url
    webhook_timeout: float = 5.0
    # the account (GET /v3/users/me) and what a create costs it
    billing: str = "wallet"  # wallet | usage_based | subscription | none (no billing object)
    balance: float | None = 1_000_000.0  # wallet USD, or the usage-based cap; None: null
    price_per_video: float = 7.0  # deducted per job started (wallet, usage_based)
    # HeyGen's drift: type names it refuses (400 param type), callback_url refused,
    # and the word a create answers with (pending, or waiting)
    refuse_types: tuple[str, ...] = ()
    refuse_callback_url: bool = False
    create_status: str = "pending"
    strict_fields: bool = False  # refuse fields beyond the cinematic_avatar schema (400)
    # an API without GET /v3/videos/statuses: the path reaches /v3/videos/{id} (404)
    no_bulk_statuses: bool = False
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.faults = replace(
            self.faults,
            latency=self.latency,
            failure_rate=self.failure_rate,
            error_rate=self.error_rate,
            concurrency=self.concurrency,
            link_ttl=self.link_ttl,
            create_latency=self.create_latency,
        )
        self.faults.check()
        self.check_account()

    def check_account(self) -> None:
        if self.billing not in BILLINGS:
            raise UsageError(f"billing must be one of {', '.join(BILLINGS)}, not {self.billing!r}")
        if self.balance is not None and self.balance < 0:
            raise UsageError("balance must not be negative")
        if self.price_per_video < 0:
            raise UsageError("price_per_video must not be negative")
        unknown = sorted(set(self.refuse_types) - set(TYPE_NAMES))
        if unknown:
            raise UsageError(
                f"refuse_types: unknown type {', '.join(unknown)}; known: {', '.join(TYPE_NAMES)}"
            )
        if self.create_status not in CREATE_STATUSES:
            raise UsageError(f"create_status must be one of {', '.join(CREATE_STATUSES)}")
