"""A stateful fake of the HeyGen API behind httpx.MockTransport, and spec builders,
for the engine's tests."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import BuildOptions, BuildResult, build
from shotbuild.plan import make_plan
from shotbuild.spec.model import Shot, Spec
from shotbuild.store.cache import Cache
from shotbuild.takes import idempotency_key, take_key

API_KEY = "sk-test-9f8e7d6c5b4a"
BASE_URL = "https://api.fake-heygen.test"


def make_shot(name: str, prompt: str = "A founder walks through an office.", **kw: Any) -> Shot:
    kw.setdefault("avatar_id", ("look_founder",))
    return Shot(name=name, prompt=prompt, **kw)


def make_spec(folder: Path, *shots: Shot, build_dir: Path | None = None) -> Spec:
    return Spec(
        path=folder / "shots.yaml",
        build_dir=build_dir or folder / "build",
        shots=tuple(shots),
    )


def video_bytes(video_id: str) -> bytes:
    return (f"fake mp4 of {video_id} " * 200).encode()


@dataclass
class Job:
    id: str
    body: dict[str, Any]
    polls: int = 0


@dataclass
class FakeHeyGen:
    polls_to_finish: int = 2
    jobs: dict[str, Job] = field(default_factory=dict)
    by_idempotency_key: dict[str, str] = field(default_factory=dict)
    create_requests: int = 0
    status_requests: int = 0
    downloads: int = 0
    uploads: int = 0
    fail_prompts: set[str] = field(default_factory=set)
    fail_keys: set[str] = field(default_factory=set)  # Idempotency-Keys whose jobs fail
    reject_prompts: set[str] = field(default_factory=set)  # answered 400
    no_credit: bool = False  # creates answered 402
    rate_limit_next: int = 0  # answer the next N creates with 429
    server_error_next: int = 0  # answer the next N creates with 500 (after starting the job)
    expire_next: int = 0  # answer the next N downloads with 403
    seen_keys: Counter[str] = field(default_factory=Counter)
    job_limit: int | None = None  # jobs unfinished at once; a create beyond it gets 429
    retry_after: str = "1"  # the Retry-After of a job-limit 429
    limited: list[tuple[str, str]] = field(default_factory=list)  # (prompt, key) of those 429s

    @property
    def creates(self) -> int:
        """Jobs started (paid for)."""
        return len(self.jobs)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.fake-heygen.test":
            return self._download(request)
        self.seen_keys[request.headers.get("x-api-key", "")] += 1
        if request.headers.get("x-api-key") != API_KEY:
            return _error(401, "unauthorized", "bad key")
        path = request.url.path
        if request.method == "POST" and path == "/v3/videos":
            return self._create(request)
        if request.method == "GET" and path.startswith("/v3/videos/"):
            return self._status(path.rsplit("/", 1)[1])
        if request.method == "POST" and path == "/v3/assets":
            self.uploads += 1
            asset = {"asset_id": f"ast_{self.uploads}", "url": "u", "mime_type": "image/png"}
            return httpx.Response(200, json={"data": {**asset, "size_bytes": 1}})
        return _error(404, "not_found", path)

    def _create(self, request: httpx.Request) -> httpx.Response:
        self.create_requests += 1
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            return _error(429, "rate_limit_exceeded", "slow down", {"Retry-After": "1"})
        if self.no_credit:
            return _error(402, "insufficient_credit", "out of credit")
        if json.loads(request.content)["prompt"] in self.reject_prompts:
            return _error(400, "invalid_parameter", "prompt is not allowed")
        key = request.headers["Idempotency-Key"]
        if key not in self.by_idempotency_key and self._full():
            self.limited.append((json.loads(request.content)["prompt"], key))
            headers = {"Retry-After": self.retry_after}
            return _error(429, "rate_limit_exceeded", "too many jobs", headers)
        if key not in self.by_idempotency_key:
            video_id = f"vid_{len(self.by_idempotency_key) + 1}"  # never reused
            self.jobs[video_id] = Job(video_id, json.loads(request.content))
            self.by_idempotency_key[key] = video_id
        if self.server_error_next:
            self.server_error_next -= 1
            return _error(500, "internal_error", "oops")
        video_id = self.by_idempotency_key[key]
        return httpx.Response(200, json={"data": {"video_id": video_id, "status": "pending"}})

    def _full(self) -> bool:
        if self.job_limit is None:
            return False
        unfinished = [j for j in self.jobs.values() if j.polls < self.polls_to_finish]
        return len(unfinished) >= self.job_limit

    def _status(self, video_id: str) -> httpx.Response:
        self.status_requests += 1
        job = self.jobs.get(video_id)
        if job is None:
            return _error(404, "video_not_found", video_id)
        job.polls += 1
        data: dict[str, Any] = {"id": video_id, "status": "processing"}
        if job.polls >= self.polls_to_finish:
            key = next(k for k, v in self.by_idempotency_key.items() if v == video_id)
            if job.body["prompt"] in self.fail_prompts or key in self.fail_keys:
                data.update(
                    status="failed",
                    failure_code="moderation_failed",
                    failure_message="the prompt was refused",
                )
            else:
                url = f"https://cdn.fake-heygen.test/v/{video_id}.mp4?sig={self.status_requests}"
                data.update(status="completed", video_url=url, duration=job.body.get("duration"))
        return httpx.Response(200, json={"data": data})

    def _download(self, request: httpx.Request) -> httpx.Response:
        if "x-api-key" in request.headers:
            raise AssertionError("a download must not carry the API key")
        if self.expire_next:
            self.expire_next -= 1
            return httpx.Response(403, text="expired")
        self.downloads += 1
        video_id = request.url.path.rsplit("/", 1)[1].removesuffix(".mp4")
        return httpx.Response(200, content=video_bytes(video_id))


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"error": {"code": code, "message": message}}
    return httpx.Response(status, json=body, headers=headers)


async def no_sleep(seconds: float) -> None:
    return None


def heygen_backend(fake: FakeHeyGen, cache: Cache) -> HeyGenBackend:
    return HeyGenBackend(BASE_URL, API_KEY, cache=cache, transport=fake.transport(), sleep=no_sleep)


class World:
    """A fake HeyGen and a cache under `folder`, and the engine's build against them,
    which never sleeps."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fake = FakeHeyGen()
        self.cache = Cache(folder / "cache")

    def backend(self) -> HeyGenBackend:
        return heygen_backend(self.fake, self.cache)

    def build(self, spec: Spec, **options: Any) -> BuildResult:
        return build(
            spec, self.backend(), BuildOptions(**options), cache=self.cache, sleep=no_sleep
        )

    def plan_statuses(self, spec: Spec) -> dict[str, str]:
        return {
            item.name: item.status for item in make_plan(spec, self.backend(), self.cache).items
        }

    def fail_take(self, spec: Spec, name: str, number: int) -> None:
        """Make the render of take `number` of shot `name` fail at the fake API."""
        plan = make_plan(spec, self.backend(), self.cache)
        key = next(item.key for item in plan.items if item.name == name)
        self.fake.fail_keys.add(idempotency_key(take_key(key, number), 1))
