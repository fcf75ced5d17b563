"""Webhook deliveries: when a job ends, POST its event to every registered endpoint
subscribed to it and to the create's `callback_url`, signed with HMAC-SHA256 of the
raw body (hex, header X-HeyGen-Signature). One attempt each, recorded in the stats."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import anyio
import httpx

from shotbuild.emulator.state import Job, World

SIGNATURE_HEADER = "X-HeyGen-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature a receiver should find in X-HeyGen-Signature."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(self, world: World) -> None:
        self.world = world
        self.tasks: set[asyncio.Task[None]] = set()

    def schedule(self, job: Job, base_url: str) -> None:
        """Deliver `job`'s event when it ends (on the emulator's clock)."""
        if not self.world.endpoints and not isinstance(job.body.get("callback_url"), str):
            return
        task = asyncio.get_running_loop().create_task(self._when_done(job, base_url))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def shutdown(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _when_done(self, job: Job, base_url: str) -> None:
        while (left := job.done_at - self.world.now()) > 0:
            await anyio.sleep(min(left, 0.05))  # short steps: the clock may be a test's
        event, body = self._event(job, base_url)
        async with httpx.AsyncClient(timeout=self.world.config.webhook_timeout) as http:
            for url, secret in self._targets(job, event):
                await self._post(http, url, secret, event, job.id, body)

    def _event(self, job: Job, base_url: str) -> tuple[str, bytes]:
        data: dict[str, Any] = {"video_id": job.id, "callback_id": job.body.get("callback_id")}
        if job.failure is None:
            event = "avatar_video.success"
            data["url"] = self.world.video_url(job.id, base_url)
        else:
            event = "avatar_video.fail"
            data["failure_code"], data["msg"] = job.failure
        return event, json.dumps({"event_type": event, "event_data": data}).encode()

    def _targets(self, job: Job, event: str) -> list[tuple[str, str]]:
        """(url, secret) for each delivery of `event`."""
        targets = [
            (e["url"], e["secret"])
            for e in self.world.endpoints.values()
            if event in e["events"] or "*" in e["events"]
        ]
        if isinstance(job.body.get("callback_url"), str):
            targets.append((job.body["callback_url"], self.world.config.callback_secret))
        return targets

    async def _post(
        self, http: httpx.AsyncClient, url: str, secret: str, event: str, video_id: str, body: bytes
    ) -> None:
        record: dict[str, Any] = {"url": url, "event": event, "video_id": video_id}
        try:
            answer = await http.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
            )
            record["status"] = answer.status_code
        except httpx.HTTPError as e:
            record["error"] = type(e).__name__
        self.world.stats.webhooks.append(record)
