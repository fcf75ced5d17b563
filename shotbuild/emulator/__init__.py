"""A local HeyGen-compatible API server for tests and CI dry runs (the `emulator`
extra: Starlette on uvicorn). Importing this package needs neither; creating or
serving an app does, and says so in one line when they are missing."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from shotbuild.emulator.config import EmulatorConfig, Faults
from shotbuild.errors import MissingExtra

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from shotbuild.emulator.state import World
    from shotbuild.preview import Card

__all__ = ["EmulatorConfig", "Faults", "create_app", "serve_in_thread", "world_of"]


def require_extra(feature: str = "the HeyGen emulator") -> None:
    # python-multipart (asset uploads) installs `python_multipart`, older releases `multipart`.
    needed = ("starlette", "uvicorn", "python_multipart|multipart")
    for names in needed:
        if not any(importlib.util.find_spec(name) for name in names.split("|")):
            raise MissingExtra(feature, "emulator")


def create_app(
    config: EmulatorConfig | None = None,
    *,
    video_factory: Callable[[Card], bytes] | None = None,
) -> Starlette:
    """The emulator's ASGI app. Videos are `video_factory(card)` (default:
    shotbuild.preview.video_bytes), rendered on first download and cached."""
    require_extra()
    from shotbuild.emulator.app import create_app as _create_app

    return _create_app(config, video_factory=video_factory)


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` on a real socket in a thread; yields its base URL; stops on exit."""
    require_extra()
    from shotbuild.emulator.server import serve_in_thread as _serve

    with _serve(app, host, port) as url:
        yield url


def world_of(app: Starlette) -> World:
    """The state behind an app made by create_app: jobs, faults, stats (Python accessor)."""
    world: World = app.state.world
    return world
