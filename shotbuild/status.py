"""The statuses of the engine, defined once: what a plan says of a shot, and the
states a shot goes through while a build runs. Both are str enums, so their values
are the words the CLI and the JSON documents have always shown."""

from __future__ import annotations

from enum import StrEnum


class ShotStatus(StrEnum):
    """What a plan says of a shot."""

    NEW = "new"
    CHANGED = "changed"
    UP_TO_DATE = "up to date"
    COSMETIC = "cosmetic change"
    RESTORE = "restore"
    IN_FLIGHT = "in flight"
    FAILED = "failed last time"
    REMOVED = "removed"
    ORPHAN = "in flight (earlier version)"  # a job of a shot edited since


RENDERS = (ShotStatus.NEW, ShotStatus.CHANGED, ShotStatus.FAILED)  # they pay for a render
PENDING = (*RENDERS, ShotStatus.RESTORE, ShotStatus.IN_FLIGHT, ShotStatus.REMOVED)
SETTLED = (ShotStatus.UP_TO_DATE, ShotStatus.COSMETIC)  # nothing to render or fetch


class Progress(StrEnum):
    """The states a shot goes through during a build, in order."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    SUBMITTED = "submitted"
    RENDERING = "rendering"
    DOWNLOADING = "downloading"
    DONE = "done"
    RESTORED = "restored"
    FAILED = "failed"
    REMOVED = "removed"


FINAL = (Progress.DONE, Progress.RESTORED, Progress.FAILED, Progress.REMOVED)


class RemoteState(StrEnum):
    """A remote job's state as a backend reports it (any non-terminal one is PENDING)."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
