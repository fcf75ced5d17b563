"""shotbuild: make for HeyGen Avatar Shots specs.

`shotbuild.load`, `shotbuild.plan` and `shotbuild.build` (the Python API, see
shotbuild.api) are imported on first use, so `import shotbuild` stays light."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: the no-op fast path starts here
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_API = ("load", "plan", "build")


def __getattr__(name: str) -> Any:
    if name in _API:
        from shotbuild import api

        return getattr(api, name)
    raise AttributeError(f"module 'shotbuild' has no attribute {name!r}")
