"""Take keys: the identity of each paid render of one shot's inputs.

HeyGen has no seed, so another render of the same inputs is another *take*.
Take 1's key is the shot's key (so every lock written before takes existed stays
valid); take n's key is derived from the shot's key and n, so it covers n. The
Idempotency-Key of a create is derived from the take's key and the attempt
exactly as it always was for a shot (`shotbuild-<key40>-<attempt>`): take 1's is
byte-identical to before, and two machines that build the same take of the same
inputs at once send the same Idempotency-Key, so HeyGen bills one job.

`takes: N` in the spec is not part of any key: raising it adds takes 2..N and
re-renders nothing."""

from __future__ import annotations

import hashlib
import json

TAKE_KEY_FORMAT = 1
MAX_TAKE_NUMBER = 999  # takes a lock may record (a spec asks for at most 10; rerolls add more)


def take_key(shot_key: str, number: int) -> str:
    """The key of take `number` (1-based) of the inputs whose key is `shot_key`."""
    if not 1 <= number <= MAX_TAKE_NUMBER:
        raise ValueError(f"a take number is from 1 to {MAX_TAKE_NUMBER}, not {number}")
    if number == 1:
        return shot_key
    doc = {"shot": shot_key, "take": number, "v": TAKE_KEY_FORMAT}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def take_keys(shot_key: str, count: int) -> dict[int, str]:
    """Takes 1..count -> their keys."""
    return {n: take_key(shot_key, n) for n in range(1, count + 1)}


def idempotency_key(key: str, attempt: int) -> str:
    """The Idempotency-Key of attempt `attempt` at rendering the take whose key is
    `key`: the same for every machine, so a create sent twice (a retry, a build
    that lost its cache, two machines at once) is one job. A new take is a new key,
    so a reroll needs no random part."""
    return f"shotbuild-{key[:40]}-{attempt}"
