"""Where shotbuild keeps its machine-local state."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$SHOTBUILD_CACHE_DIR, else $XDG_CACHE_HOME/shotbuild, else ~/.cache/shotbuild."""
    explicit = os.environ.get("SHOTBUILD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "shotbuild"
    return Path.home() / ".cache" / "shotbuild"
