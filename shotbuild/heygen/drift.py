"""Living with HeyGen's API drift: the type rename, `callback_url`, status words.

HeyGen named the Avatar Shots type `avatar_shots` and, two days later,
`cinematic_avatar`; its current OpenAPI lists only the new name. So
`cinematic_avatar` is sent by default; when a create is refused naming `type`
(400, `param: type`) it is sent once more with the other name, and the name the
API accepted is remembered per origin in the local cache, so the next build
sends it first. `callback_url` is not in the `cinematic_avatar` schema: when a
create is refused naming it, it is sent again without it. Each is said once a run.

A shot's key must not depend on which name was sent: `key_type_name` gives the
one spelling the key uses for both (today's default, so no lock entry moves)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from shotbuild.heygen.errors import InvalidRequest

# re-exported: the two names live with the keys (shotbuild.heygen.typenames)
from shotbuild.heygen.typenames import KEY_SPELLING as KEY_SPELLING
from shotbuild.heygen.typenames import SENT_BY_DEFAULT as SENT_BY_DEFAULT
from shotbuild.heygen.typenames import TYPE_NAMES as TYPE_NAMES
from shotbuild.heygen.typenames import key_type_name as key_type_name
from shotbuild.heygen.typenames import legacy_key_type_names as legacy_key_type_names
from shotbuild.heygen.typenames import other_name as other_name

if TYPE_CHECKING:
    from shotbuild.heygen.client import HeyGenClient
    from shotbuild.heygen.models import CreatedVideo
    from shotbuild.store.cache import Cache

_CACHE_PREFIX = "typename:"
_MAX_KEY = 255  # Idempotency-Key length limit


# -- what the cache remembers --------------------------------------------------------


class TypeMemory(Protocol):
    def remembered(self, origin: str) -> str | None: ...

    def remember(self, origin: str, name: str) -> None: ...


def remembered_type_name(cache: Cache, origin: str) -> str | None:
    """The type name `origin` last accepted (from the local cache), or None. What the
    cache holds is untrusted: anything but one of the two names counts as nothing."""
    value = cache.index.get(_CACHE_PREFIX + origin)
    return value if isinstance(value, str) and value in TYPE_NAMES else None


def remember_type_name(cache: Cache, origin: str, name: str) -> None:
    """Record that `origin` accepted the type `name` (one of the two names)."""
    if name not in TYPE_NAMES:
        raise ValueError(f"not an Avatar Shots type name: {name!r}")
    cache.index.set(_CACHE_PREFIX + origin, name)
    from shotbuild.noop import forget_all

    forget_all(str(cache.directory))  # no-op records were made with the name before


@dataclass(frozen=True)
class CacheTypeMemory:
    """A TypeMemory in the machine-local cache."""

    cache: Cache

    def remembered(self, origin: str) -> str | None:
        return remembered_type_name(self.cache, origin)

    def remember(self, origin: str, name: str) -> None:
        remember_type_name(self.cache, origin, name)


@dataclass
class DictTypeMemory:
    """A TypeMemory in a dict (tests, or a run without a cache)."""

    names: dict[str, str] = field(default_factory=dict)

    def remembered(self, origin: str) -> str | None:
        return self.names.get(origin)

    def remember(self, origin: str, name: str) -> None:
        self.names[origin] = name


# -- idempotency of the retries -------------------------------------------------------


def idempotency_key_for(key: str, body: Mapping[str, Any], *, callback_dropped: bool) -> str:
    """The Idempotency-Key of one variant of a create. A refused create started no job,
    but a server may keep its refusal under the key, so each variant has its own key,
    derived the same way every run (so a retried variant replays, never pays twice).
    `cinematic_avatar` keeps the key as given: a create an earlier version sent as
    `avatar_shots` under it is replayed, not paid again."""
    suffix = ""
    if body.get("type") == KEY_SPELLING:
        suffix += ":as"
    if callback_dropped:
        suffix += ":nocb"
    return key[: _MAX_KEY - len(suffix)] + suffix if suffix else key


# -- status words ------------------------------------------------------------------------


class Phase(Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    GONE = "gone"  # the job no longer exists (not_found): submit anew


IN_PROGRESS_WORDS = frozenset({"pending", "waiting", "queued", "processing"})
_PHASES = {"completed": Phase.COMPLETED, "failed": Phase.FAILED, "not_found": Phase.GONE}


def phase_of(word: str) -> Phase:
    """What a status word means; any word HeyGen has not documented is in progress."""
    return _PHASES.get(word.strip().lower(), Phase.IN_PROGRESS)


def is_known_status(word: str) -> bool:
    word = word.strip().lower()
    return word in IN_PROGRESS_WORDS or word in _PHASES


# -- one run's handling ------------------------------------------------------------------


@dataclass
class Drift:
    """One run's handling of the drift at one origin. `say` gets each note once."""

    origin: str
    memory: TypeMemory = field(default_factory=DictTypeMemory)
    say: Callable[[str], None] = lambda _line: None
    callback_refused: bool = False  # this run: send no more callback_url
    _said: set[str] = field(default_factory=set)
    _memo: dict[str, str | None] = field(default_factory=dict)  # memory, read once a run

    def note(self, topic: str, line: str) -> None:
        if topic not in self._said:
            self._said.add(topic)
            self.say(line)

    def preferred_type(self) -> str:
        """The name to send first: the remembered one, else `cinematic_avatar`."""
        return self._remembered() or SENT_BY_DEFAULT

    def _remembered(self) -> str | None:
        """The name the memory holds for this origin, read once per run (not once per
        create: a cache read each)."""
        if self.origin not in self._memo:
            self._memo[self.origin] = self.memory.remembered(self.origin)
        return self._memo[self.origin]

    def body_for(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`body` as it is sent first: the preferred type name, no refused callback_url."""
        out = dict(body)
        if out.get("type") in TYPE_NAMES:
            out["type"] = self.preferred_type()
        if self.callback_refused:
            out.pop("callback_url", None)
        return out

    def phase(self, word: str) -> Phase:
        """phase_of(word), saying once per word that an unknown one is taken as in progress."""
        if not is_known_status(word):
            self.note(
                f"status:{word}",
                f"HeyGen answered a status shotbuild does not know ({word[:40]!r}): "
                "taking it as still in progress",
            )
        return phase_of(word)

    async def create(
        self, client: HeyGenClient, body: Mapping[str, Any], *, idempotency_key: str, **kw: Any
    ) -> CreatedVideo:
        """POST /v3/videos, sent again once with the other type name when the API
        refuses the name, and once without callback_url when it refuses that."""
        sent = self.body_for(body)
        retried: set[str] = set()
        while True:
            dropped = "callback_url" in body and "callback_url" not in sent
            key = idempotency_key_for(idempotency_key, sent, callback_dropped=dropped)
            try:
                created = await client.create_video(sent, idempotency_key=key, **kw)
            except InvalidRequest as e:
                retry = self._retry(e, sent, retried)
                if retry is None:
                    raise
                sent = retry
                continue
            self._accepted(sent)
            return created

    def _retry(
        self, e: InvalidRequest, sent: dict[str, Any], retried: set[str]
    ) -> dict[str, Any] | None:
        """The body to send after refusal `e`, or None when there is nothing to change."""
        other = other_name(str(sent.get("type")))
        if _names(e, "type") and other is not None and "type" not in retried:
            retried.add("type")
            self.note(
                "type",
                f"{self.origin} refused type {sent['type']!r}: sending {other!r} instead "
                "(remembered for the next builds)",
            )
            return {**sent, "type": other}
        if _names(e, "callback_url") and "callback_url" in sent and "callback" not in retried:
            retried.add("callback")
            self.callback_refused = True
            self.note(
                "callback_url",
                f"{self.origin} refused callback_url: sending the shots without it "
                "(build polls for the result, as always)",
            )
            return {k: v for k, v in sent.items() if k != "callback_url"}
        return None

    def _accepted(self, sent: Mapping[str, Any]) -> None:
        name = sent.get("type")
        known = isinstance(name, str) and name in TYPE_NAMES
        if known and self._remembered() != name:
            self.memory.remember(self.origin, str(name))
            self._memo[self.origin] = str(name)


def _names(e: InvalidRequest, name: str) -> bool:
    """Whether refusal `e` names the field `name` (in `param`, or for callback_url,
    whose refusal may come as a plain "extra field" message, in the text)."""
    if e.param in (name, f"body.{name}"):
        return True
    return name == "callback_url" and e.param is None and "callback_url" in str(e)
