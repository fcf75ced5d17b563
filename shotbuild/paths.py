"""Where shotbuild keeps its machine-local state (light: the no-op fast path reads it
before anything else is imported)."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported: the no-op fast path reads this module
if TYPE_CHECKING:
    from pathlib import Path


def cache_dir_name() -> str:
    """$SHOTBUILD_CACHE_DIR, else $XDG_CACHE_HOME/shotbuild, else ~/.cache/shotbuild."""
    explicit = os.environ.get("SHOTBUILD_CACHE_DIR")
    if explicit:
        return explicit
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return os.path.join(xdg, "shotbuild")
    return os.path.join(os.path.expanduser("~"), ".cache", "shotbuild")


def cache_dir() -> Path:
    """cache_dir_name() as a Path."""
    from pathlib import Path

    return Path(cache_dir_name())


def spec_digest(spec_path: str) -> str:
    """The name a spec's per-spec files in the cache go by (its build lock, its jobs in
    flight, its no-op record): a digest of its absolute path."""
    import hashlib

    return hashlib.sha256(spec_path.encode()).hexdigest()[:24]
