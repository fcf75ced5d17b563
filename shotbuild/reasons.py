"""Why a plan says what it says, as data: a reason code, the fields that changed
(with their old and new values) and the facts behind it. `words` is the one place
they become the sentences `plan`, `status` and `build` show."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple


class Code(StrEnum):
    NEVER_BUILT = "never_built"
    FORCED = "forced"
    FORCED_RESUMED = "forced_resumed"  # a forced render killed after its create
    FIELDS_CHANGED = "fields_changed"
    ORIGIN_CHANGED = "origin_changed"
    INPUTS_CHANGED = "inputs_changed"
    MATCHES = "matches"
    COSMETIC_CHANGED = "cosmetic_changed"
    LOCK_ENTRY_MISSING = "lock_entry_missing"
    RESTORE = "restore"  # facts: problem, source (cache | lock), video_id
    RENDER_LEFT_CACHE = "render_left_cache"  # facts: problem
    SUBMITTED = "submitted"  # facts: video_id
    CREATE_UNANSWERED = "create_unanswered"
    RENDER_FAILED = "render_failed"  # facts: failure
    NO_CREDIT = "no_credit"  # a create refused last time: the account was out of credit
    LEFT_SPEC_LOCK = "left_spec_lock"
    LEFT_SPEC_OUTPUT = "left_spec_output"
    REROLL = "reroll"  # facts: take
    TAKE_WANTED = "take_wanted"  # facts: take, wanted (takes: N), source (a take on record)
    TAKE_UNFINISHED = "take_unfinished"  # facts: take, video_id, shot (a killed reroll/force)


class Problem(StrEnum):
    """What is wrong with a shot's output when it is restored."""

    MISSING = "output missing"
    NOT_OURS = "output not written by shotbuild"
    DIFFERS = "output differs from its render"


class Change(NamedTuple):
    """One field of a shot's request that changed, and how."""

    field: str  # a path into the request: "prompt", "references[1]"
    old: Any = None
    new: Any = None


class Reason(NamedTuple):
    """Why a shot has the status it has: a code, with its changes and facts."""

    code: Code
    changes: tuple[Change, ...] = ()
    facts: Mapping[str, str] | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(change.field for change in self.changes)

    def fact(self, name: str) -> str:
        return (self.facts or {}).get(name, "")


_FIXED = {
    Code.NEVER_BUILT: "never built",
    Code.FORCED: "forced",
    Code.INPUTS_CHANGED: "inputs changed",
    Code.MATCHES: "output matches its key",
    Code.LOCK_ENTRY_MISSING: "lock entry missing: recorded again",
    Code.CREATE_UNANSWERED: "a create may have been sent, no answer recorded: sent again with"
    " the same Idempotency-Key (no second job)",
    Code.LEFT_SPEC_LOCK: "left the spec: lock entry dropped",
    Code.LEFT_SPEC_OUTPUT: "left the spec: output removed",
}


def words(reason: Reason) -> str:
    """The reason as the sentence people read."""
    fixed = _FIXED.get(reason.code)
    if fixed is not None:
        return fixed
    fields, fact = ", ".join(reason.fields), reason.fact
    if reason.code == Code.FIELDS_CHANGED:
        return f"{fields} changed"
    if reason.code == Code.COSMETIC_CHANGED:
        return f"{fields} changed: no render"
    if reason.code == Code.ORIGIN_CHANGED:
        return f"rendered by {fact('old_origin')}, building for {fact('new_origin')}"
    if reason.code == Code.RESTORE:
        how = (
            "copy from the local cache"
            if fact("source") == "cache"
            else f"download {fact('video_id')} again (no render)"
        )
        return f"{fact('problem')}: {how}"
    if reason.code == Code.RENDER_LEFT_CACHE:
        return f"{fact('problem')}; its render left the cache"
    if reason.code == Code.SUBMITTED:
        return f"submitted as {fact('video_id')}"
    if reason.code == Code.REROLL:
        picked = ", picked (--force)" if fact("picked") else ""
        return f"take {fact('take')}: another take of the same inputs{picked}"
    if reason.code == Code.TAKE_WANTED:
        return _take_wanted(reason)
    if reason.code == Code.TAKE_UNFINISHED:
        return _take_unfinished(reason)
    if reason.code == Code.NO_CREDIT:
        changed = f"{fields} changed; " if fields else ""
        return f"{changed}not rendered: the account was out of credit last time"
    if reason.code == Code.FORCED_RESUMED:
        return f"forced render {fact('video_id') or '(create unanswered)'} interrupted: resumed"
    return f"render failed ({fact('failure') or 'no reason given'}): submit again"


def _take_wanted(reason: Reason) -> str:
    wanted = f"take {reason.fact('take')} of the {reason.fact('wanted')} takes wanted"
    source = reason.fact("source")
    if not source:
        return wanted
    how = "copy from the local cache" if source == "cache" else "download it again"
    return f"{wanted}: on record, {how} (no render)"


def _take_unfinished(reason: Reason) -> str:
    """A killed reroll's or force's take, and how it is taken up again."""
    take, video_id, shot = (reason.fact(k) for k in ("take", "video_id", "shot"))
    where = f"submitted as {video_id}" if video_id else "its create sent, no answer recorded"
    return (
        f"take {take} (a reroll or --force) unfinished, {where}: the same"
        f" `shotbuild build --force {shot}` or `shotbuild reroll {shot}` resumes it"
        " (no second job)"
    )
