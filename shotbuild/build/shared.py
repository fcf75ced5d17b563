"""The shared remote cache, as a build uses it: a miss or a fault only means
"render it here" (a fault is reported once per kind, read or write)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shotbuild.errors import ShotbuildError
from shotbuild.progress import Reporter
from shotbuild.store.cache import Cache
from shotbuild.store.lock import LockEntry

if TYPE_CHECKING:
    from shotbuild.store.remote import RemoteCache


class Shared:
    def __init__(self, remote: RemoteCache | None, cache: Cache, reporter: Reporter) -> None:
        self.remote = remote  # None: no remote cache (or a backend whose renders stay local)
        self.cache = cache
        self.reporter = reporter
        self.warned: set[str] = set()  # "read", "write": faults already reported

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        import asyncio

        try:
            return await asyncio.to_thread(fn, *args)
        except ShotbuildError as e:
            # The cache turns itself off (reads, or only writes) after a fault; shots
            # that were talking to it at the same time fail alike: warn once per kind.
            kind = "write" if self.remote is None or self.remote.readable else "read"
            if kind not in self.warned:
                self.warned.add(kind)
                self.reporter.message(f"warning: {e}")
            return None

    async def blob(self, sha256: str) -> bool:
        """Fetch a render's bytes into the local blob cache; False on a miss."""
        if self.remote is None:
            return False
        tmp = self.cache.temp_file(".mp4")
        try:
            if await self._call(self.remote.fetch_blob, sha256, tmp):
                self.cache.adopt_blob(tmp, sha256)
                return True
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    async def pull(self, key: str, video_id: str | None = None) -> LockEntry | None:
        """The render another machine paid for this key, its blob in the local cache.
        With `video_id` (the lock's for this key) a result naming another is not used."""
        if self.remote is None:
            return None
        tmp = self.cache.temp_file(".mp4")
        try:
            entry = await self._call(self.remote.pull, key, tmp, video_id)
            if entry is None:
                return None
            self.cache.adopt_blob(tmp, entry.sha256)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return LockEntry(**{**entry.to_json(), "key": key})

    async def push(self, entry: LockEntry) -> None:
        if self.remote is not None and self.remote.writable:
            await self._call(self.remote.push, entry.key, entry, self.cache.blob_path(entry.sha256))
