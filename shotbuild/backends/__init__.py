"""Backends: how a shot becomes an mp4 (a paid HeyGen job, or a local preview).

`get_backend(name)` builds one without importing httpx until a job is really
submitted, so planning and no-op builds stay light."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shotbuild.backends.base import Backend
from shotbuild.settings import BACKENDS

if TYPE_CHECKING:
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache


def backend_name(explicit: str | None) -> str:
    """--backend, else $SHOTBUILD_BACKEND, else heygen."""
    from shotbuild.settings import backend_of

    return backend_of(explicit)


def get_backend(
    name: str | None = None, *, cache: Cache | None = None, settings: Settings | None = None
) -> Backend:
    """The backend `settings` name (default: read from `name` and the environment)."""
    from shotbuild.settings import Settings

    chosen = settings if settings is not None else Settings.resolve(backend=name)
    return chosen.open_backend(cache)


__all__ = ["BACKENDS", "Backend", "backend_name", "get_backend"]
