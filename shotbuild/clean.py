"""Cleaning a build folder: remove the outputs shotbuild wrote for one spec (every
backend) and nothing else. The lock and the cache stay, so the next build restores
the outputs without rendering."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from shotbuild.plan import build_dir_of
from shotbuild.spec.model import Spec
from shotbuild.store.outputs import Manifest


@dataclass(frozen=True)
class Cleaned:
    """The outputs removed (or, with dry_run, that would be), in order."""

    paths: tuple[Path, ...]
    dry_run: bool


def clean(spec: Spec, out: Path | None = None, *, dry_run: bool = False) -> Cleaned:
    """Remove the files the build folder's manifest says this spec's builds wrote;
    then the manifest and the folders, when nothing else is left in them."""
    manifest = Manifest(build_dir_of(spec, out))
    mine = sorted(r for r, o in manifest.entries.items() if o.belongs_to(spec.path))
    paths = tuple(manifest.build_dir / rel for rel in mine)
    if not dry_run:
        for rel, path in zip(mine, paths, strict=True):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            manifest.forget(rel)
        _tidy(manifest)
    return Cleaned(paths, dry_run)


def _tidy(manifest: Manifest) -> None:
    """Drop an empty manifest, then build/preview and build/ if empty."""
    with contextlib.suppress(FileNotFoundError):
        if not manifest.entries:
            manifest.path.unlink()
    for sub in (manifest.build_dir / "preview", manifest.build_dir):
        with contextlib.suppress(OSError):
            sub.rmdir()  # only when empty
