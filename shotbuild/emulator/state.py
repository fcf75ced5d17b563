"""The emulator's world, without HTTP: jobs and how they progress over the clock,
idempotent creates, looks, assets, webhook endpoints, presigned links and counts."""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shotbuild.emulator.config import EmulatorConfig

FAIL_MARK = "[emulator:fail]"  # a prompt containing this always renders `failed`
FAILURES = (
    ("render_failed", "The video could not be rendered; try again"),
    ("download_failed", "A reference could not be downloaded; check its URL"),
    ("content_moderation", "The prompt was flagged by moderation; rephrase it"),
)
PAYING = ("wallet", "usage_based")  # billing kinds whose balance a job spends
BULK_WORDS = {"pending": "queued"}  # the bulk endpoint's words differ from GET /v3/videos/{id}
PENDING_SHARE = 0.25  # of a job's latency spent `pending` before `processing`


@dataclass
class Job:
    id: str
    body: dict[str, Any]
    created: float  # emulator clock
    done_at: float  # emulator clock
    created_at: int  # Unix seconds, as the API shows it
    failure: tuple[str, str] | None

    @property
    def duration(self) -> float:
        duration = self.body.get("duration")
        return float(duration) if isinstance(duration, int) else 10.0  # auto: the default

    def status(self, now: float) -> str:
        if now >= self.done_at:
            return "failed" if self.failure else "completed"
        if now < self.created + PENDING_SHARE * (self.done_at - self.created):
            return "pending"
        return "processing"


@dataclass
class Held:
    """What an Idempotency-Key holds: a create still running, or its answer."""

    at: float
    answer: dict[str, Any] | None = None


@dataclass
class Asset:
    asset_id: str
    filename: str
    mime_type: str
    size_bytes: int
    content: bytes | None = None  # None until uploaded (direct uploads)
    checksum_sha256: str | None = None
    token: str = ""

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "url": f"{base_url}_emulator/assets/{self.asset_id}",
            "mime_type": self.mime_type,
            "size_bytes": self.size_bytes,
        }


@dataclass
class Stats:
    requests: int = 0
    creates_total: int = 0  # create requests received, replays and rejections included
    jobs: int = 0  # jobs actually started (what a user would pay for)
    creates_per_key: Counter[str] = field(default_factory=Counter)
    status_calls: int = 0
    batch_status_calls: int = 0  # GET /v3/videos/statuses requests (each up to 100 jobs)
    downloads: int = 0
    renders: int = 0
    injected: Counter[str] = field(default_factory=Counter)  # 429, 5xx, dropped
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    create_types: Counter[str] = field(default_factory=Counter)  # `type` of each create
    spent: float = 0.0  # USD the jobs started have cost the account

    def as_json(self) -> dict[str, Any]:
        return {
            "create_types": dict(self.create_types),
            "spent": self.spent,
            "requests": self.requests,
            "creates_total": self.creates_total,
            "jobs": self.jobs,
            "creates_per_key": dict(self.creates_per_key),
            "status_calls": self.status_calls,
            "batch_status_calls": self.batch_status_calls,
            "downloads": self.downloads,
            "renders": self.renders,
            "injected": dict(self.injected),
            "webhooks": list(self.webhooks),
        }


def default_looks() -> list[dict[str, Any]]:
    """Three private looks named like the examples', then 57 public ones (3 pages of 20)."""
    private = [
        ("look_founder", "Founder", "studio_avatar", "landscape"),
        ("look_cofounder", "Co-founder", "studio_avatar", "landscape"),
        ("look_host", "Host", "photo_avatar", "portrait"),
    ]
    looks = [
        {"id": i, "name": n, "avatar_type": t, "preferred_orientation": o, "ownership": "private"}
        for i, n, t, o in private
    ]
    types, orientations = (
        ("studio_avatar", "photo_avatar", "digital_twin"),
        ("landscape", "portrait", "square"),
    )
    looks += [
        {
            "id": f"look_public_{n:03d}",
            "name": f"Public look {n}",
            "avatar_type": types[n % 3],
            "preferred_orientation": orientations[n % 3],
            "ownership": "public",
        }
        for n in range(1, 58)
    ]
    for look in looks:
        look.setdefault("status", "completed")
        look.setdefault("group_id", f"group_{look['id']}")
        look.setdefault("preview_image_url", f"https://emulator.invalid/looks/{look['id']}.png")
    return looks


class World:
    """Everything the emulator knows. Not thread-safe: used from the server's loop."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults = config.faults
        self.rng = random.Random(config.seed)
        self.secret = secrets.token_bytes(32)  # signs this emulator's presigned links
        self.jobs: dict[str, Job] = {}
        self._running: dict[str, Job] = {}  # started, maybe not done: in_progress prunes it
        self.held: dict[str, Held] = {}
        self.looks = default_looks()
        self.assets: dict[str, Asset] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.stats = Stats()

    def look(self, look_id: str) -> dict[str, Any] | None:
        return next((look for look in self.looks if look["id"] == look_id), None)

    def now(self) -> float:
        return self.config.clock()

    def new_id(self, prefix: str = "") -> str:
        return f"{prefix}{self.rng.getrandbits(64):016x}"

    # -- jobs --------------------------------------------------------------------

    def in_progress(self) -> list[Job]:
        """Jobs not done yet: a scan of the jobs started and not yet seen done (not of
        every job, which made each create of a long build slower than the last)."""
        now = self.now()
        self._running = {i: job for i, job in self._running.items() if now < job.done_at}
        return list(self._running.values())

    def retry_after_full(self) -> int:
        """Seconds until the first job in progress finishes (at least 1)."""
        soonest = min(job.done_at for job in self.in_progress())
        return max(1, math.ceil(soonest - self.now()))

    def start_job(self, body: dict[str, Any]) -> Job:
        now = self.now()
        failure = None
        if FAIL_MARK in body["prompt"] or self.rng.random() < self.faults.failure_rate:
            failure = FAILURES[0] if FAIL_MARK in body["prompt"] else self.rng.choice(FAILURES)
        job = Job(
            id=self.new_id(),
            body=body,
            created=now,
            done_at=now + self.faults.latency,
            created_at=int(self.config.wall_clock()),
            failure=failure,
        )
        self.jobs[job.id] = job
        self._running[job.id] = job
        self.stats.jobs += 1
        if self.config.billing in PAYING:
            self.stats.spent += self.config.price_per_video
        return job

    # -- the account -----------------------------------------------------------------

    def left(self) -> float | None:
        """USD the account can still spend (wallet or cap), None when unlimited/unknown."""
        if self.config.billing not in PAYING or self.config.balance is None:
            return None
        return self.config.balance - self.stats.spent

    def can_pay(self) -> bool:
        left = self.left()
        return left is None or left + 1e-9 >= self.config.price_per_video

    def account_json(self) -> dict[str, Any]:
        """GET /v3/users/me's data: exactly one billing object filled (or none)."""
        billing = self.config.billing
        data: dict[str, Any] = {
            "username": "emulator",
            "email": "emulator@example.invalid",
            "first_name": "Shotbuild",
            "last_name": "Emulator",
            "billing_type": None if billing == "none" else billing,
            "wallet": None,
            "subscription": None,
            "usage_based": None,
        }
        if billing == "wallet":
            data["wallet"] = {
                "currency": "usd",
                "remaining_balance": self.left(),
                "auto_reload": {"enabled": False, "amount_usd": None, "threshold_usd": None},
            }
        elif billing == "usage_based":
            balance = self.config.balance
            data["usage_based"] = {
                "spending_cap_usd": balance,
                "spending_current_usd": self.stats.spent,
                "remaining_credits": None,
                "included_credits": None,
            }
        elif billing == "subscription":
            data["subscription"] = {
                "plan": "pro",
                "credits": {
                    "premium_credits": {"remaining": 600, "resets_at": None},
                    "add_on_credits": {"remaining": 0, "resets_at": None},
                },
            }
        return data

    def status_json(self, job: Job, base_url: str) -> dict[str, Any]:
        status = job.status(self.now())
        data: dict[str, Any] = {"id": job.id, "status": status, "created_at": job.created_at}
        if isinstance(job.body.get("title"), str):
            data["title"] = job.body["title"]
        if status in ("completed", "failed"):
            data["completed_at"] = job.created_at + math.ceil(job.done_at - job.created)
        if status == "completed":
            data["duration"] = job.duration
            data["video_url"] = self.video_url(job.id, base_url)
        if status == "failed" and job.failure:
            data["failure_code"], data["failure_message"] = job.failure
        return data

    def bulk_status_json(self, video_id: str, base_url: str) -> dict[str, Any]:
        """One item of GET /v3/videos/statuses: keyed `video_id`, status words
        queued | processing | completed | failed | not_found."""
        job = self.jobs.get(video_id)
        if job is None:
            return {"video_id": video_id, "status": "not_found"}
        data = self.status_json(job, base_url)
        data["video_id"] = data.pop("id")
        data["status"] = BULK_WORDS.get(data["status"], data["status"])
        return data

    # -- presigned links -----------------------------------------------------------

    def _signature(self, path: str, expires: str) -> str:
        return hmac.new(self.secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def video_url(self, video_id: str, base_url: str) -> str:
        """A fresh presigned-style link, valid for link_ttl seconds of the clock."""
        path = f"_emulator/videos/{video_id}.mp4"
        expires = f"{self.now() + self.faults.link_ttl:.3f}"
        return f"{base_url}{path}?expires={expires}&signature={self._signature(path, expires)}"

    def link_valid(self, path: str, expires: str, signature: str) -> bool:
        if self.faults.expire_links:
            return False
        good = hmac.compare_digest(self._signature(path.lstrip("/"), expires), signature)
        try:
            return good and float(expires) > self.now()
        except ValueError:
            return False

    # -- idempotency ----------------------------------------------------------------

    def held_for(self, key: str) -> Held | None:
        held = self.held.get(key)
        if held is not None and self.now() - held.at > self.config.idempotency_window:
            del self.held[key]
            return None
        return held
