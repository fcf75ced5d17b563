"""When a call to HeyGen is tried again, and after how long.

- 429 on any call: wait what `Retry-After` says (seconds or an HTTP date), capped;
  without it, back off. A 503 with Retry-After is honoured the same way.
- 5xx, timeouts and dropped or refused connections: back off (1 s doubling, +-25 %
  jitter) and try again. For reads that is always safe. Creates are retried the
  same way ONLY because the client never sends one without an `Idempotency-Key`,
  and every retry carries the same key, so HeyGen replays the first answer
  instead of starting (and billing) a second job.
- 409 `request_in_progress` on a create: the first request with that key is still
  being handled; wait and ask again with the same key.

Sleep, clock and randomness are injected, so tests never wait."""

from __future__ import annotations

import datetime
import email.utils
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from shotbuild import logs
from shotbuild.heygen import errors

log = logs.logger("shotbuild.heygen")  # where the command line said

Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all for one call (the first and up to 5 retries)
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.25  # +-25 %
    max_retry_after: float = 120.0  # a longer Retry-After is cut to this
    in_progress_delay: float = 2.0  # between asks while a create is in progress (409)
    in_progress_attempts: int = 30
    budget: float = 900.0  # no retry starts later than this after the first try

    def backoff(self, retry: int, rand: float) -> float:
        """Delay before retry number `retry` (1-based); `rand` is uniform in [0, 1)."""
        delay: float = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return max(0.0, delay * (1 + self.jitter * (2 * rand - 1)))


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date);
    `now` is the wall-clock time in Unix seconds. None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT even when it fails to say so
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - now
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


class Retrier:
    """Runs one API call's attempts under a RetryPolicy."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Sleep,
        clock: Clock,
        wall_clock: Clock = time.time,
        random: Callable[[], float],
        origin: str,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._random = random
        self._origin = origin

    def retry_after(self, response: httpx.Response) -> float | None:
        return parse_retry_after(response.headers.get("retry-after"), now=self._wall_clock())

    async def run(
        self,
        send: Callable[[], Awaitable[httpx.Response]],
        *,
        action: str,
        create: bool = False,
        retry_429: bool = True,
    ) -> httpx.Response:
        """Call `send` until it gives a 2xx/3xx answer or retrying is no longer allowed;
        then return that answer or raise the translated error. With `retry_429=False`
        a 429 is raised at once (RateLimited), for callers that pace themselves."""
        start = self._clock()
        tries = waits = 0
        while True:
            tries += 1
            try:
                response = await send()
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError):
                raise  # our request is wrong: trying again cannot help
            except httpx.TransportError as exc:
                delay = self._next(tries, start)
                if delay is None:
                    raise errors.from_transport(exc, action=action, origin=self._origin) from exc
                # said without -v: a dead HEYGEN_BASE_URL must not wait in silence
                log.warning(
                    "%s: cannot reach %s (%s); trying again in %.1f s",
                    action,
                    self._origin,
                    type(exc).__name__,
                    delay,
                )
                await self._sleep(delay)
                continue
            if response.status_code < 400:
                return response
            code = errors.error_body(response)[0]
            if create and response.status_code == 409 and code == "request_in_progress":
                waits += 1
                tries -= 1
                if waits < self.policy.in_progress_attempts:
                    delay = self.retry_after(response) or self.policy.in_progress_delay
                    log.info("%s: 409 request_in_progress; asking again in %.1f s", action, delay)
                    await self._sleep(min(delay, self.policy.max_retry_after))
                    continue
            delay = self._delay_for(response, tries, start, retry_429=retry_429)
            if delay is None:
                raise errors.from_response(
                    response, action=action, retry_after=self.retry_after(response)
                )
            level = logging.INFO if response.status_code == 429 else logging.WARNING
            log.log(level, "%s: HTTP %d; retrying in %.1f s", action, response.status_code, delay)
            await self._sleep(delay)

    def _delay_for(
        self, response: httpx.Response, tries: int, start: float, *, retry_429: bool = True
    ) -> float | None:
        """429 (unless `retry_429` is off) and 5xx (but 501) are retried, after
        Retry-After when the answer has one."""
        status = response.status_code
        if status == 429 and not retry_429:
            return None
        if status != 429 and (status < 500 or status == 501):
            return None
        after = self.retry_after(response)
        if after is not None:
            return self._next(tries, start, min(after, self.policy.max_retry_after))
        return self._next(tries, start)

    def _next(self, tries: int, start: float, delay: float | None = None) -> float | None:
        """The delay before the next try, or None when the attempts or budget are spent."""
        if tries >= self.policy.attempts:
            return None
        if delay is None:
            delay = self.policy.backoff(tries, self._random())
        if self._clock() - start + delay > self.policy.budget:
            return None
        return delay
