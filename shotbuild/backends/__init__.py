"""Backends: how a shot becomes an mp4 (a paid HeyGen job, or a local preview).

`get_backend(name)` builds one without importing httpx until a job is really
submitted, so planning and no-op builds stay light."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shotbuild.backends.base import Backend
from shotbuild.errors import UsageError

if TYPE_CHECKING:
    from shotbuild.store.cache import Cache

BACKENDS = ("heygen", "preview")


def backend_name(explicit: str | None) -> str:
    """--backend, else $SHOTBUILD_BACKEND, else heygen."""
    name = explicit or os.environ.get("SHOTBUILD_BACKEND") or "heygen"
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; use one of: {', '.join(BACKENDS)}")
    return name


def get_backend(name: str | None = None, *, cache: Cache | None = None) -> Backend:
    name = backend_name(name)
    if name == "preview":
        from shotbuild.backends.preview import PreviewBackend

        return PreviewBackend(cache)
    from shotbuild.backends.heygen import HeyGenBackend

    return HeyGenBackend.from_env(cache=cache)


__all__ = ["BACKENDS", "Backend", "backend_name", "get_backend"]
