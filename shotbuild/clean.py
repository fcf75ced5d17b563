"""Cleaning a build folder: remove the outputs shotbuild wrote for one spec (every
backend, and the cuts of its sequences) and nothing else: a file a person put in an
output's place is kept. The lock and the cache stay, so the next build restores the
outputs without rendering."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from shotbuild.fs import remove_dead_temps
from shotbuild.plan import build_dir_of
from shotbuild.spec.model import Spec
from shotbuild.store.outputs import Manifest


@dataclass(frozen=True)
class Cleaned:
    """The outputs removed (or, with dry_run, that would be), in order, and the
    files kept because they are not the bytes shotbuild wrote there."""

    paths: tuple[Path, ...]
    dry_run: bool
    kept: tuple[Path, ...] = ()


def clean(spec: Spec, out: Path | None = None, *, dry_run: bool = False) -> Cleaned:
    """Remove the files the build folder's manifest says this spec's builds wrote and
    that still hold those bytes; then the cuts; then the manifest and the folders,
    when nothing else is left in them."""
    from shotbuild.sequences import remove_outputs

    manifest = Manifest(build_dir_of(spec, out))
    if not dry_run:  # a killed save's temporary file, its writer gone
        remove_dead_temps(manifest.build_dir, (manifest.path.name,), time.time())
    mine = sorted(r for r, o in manifest.entries.items() if o.belongs_to(spec.path))
    foreign = [rel for rel in mine if manifest.state(rel) == "foreign"]
    ours = [rel for rel in mine if rel not in foreign]
    if not dry_run:
        for rel in foreign:
            manifest.forget(rel)  # not ours any more: never tracked, never deleted
        for rel in ours:
            manifest.remove(rel)
    cuts = [
        Path(cut)
        for subdir in ("", "preview")
        for cut in remove_outputs(spec, manifest.build_dir, subdir, dry_run=dry_run)
    ]
    if not dry_run:
        _tidy(manifest, [rel for rel in ours if rel.startswith("takes/")])
    paths = tuple(manifest.build_dir / rel for rel in ours) + tuple(cuts)
    return Cleaned(paths, dry_run, tuple(manifest.build_dir / rel for rel in foreign))


def _tidy(manifest: Manifest, takes: list[str]) -> None:
    """Drop an empty manifest, then the emptied build/takes/<shot>/ folders of the
    take files removed, build/takes, build/preview and build/ if empty."""
    with contextlib.suppress(FileNotFoundError):
        if not manifest.entries:
            manifest.path.unlink()
    shots = sorted({manifest.build_dir / Path(rel).parent for rel in takes})  # checked rels
    for sub in (
        *shots,
        manifest.build_dir / "takes",
        manifest.build_dir / "preview",
        manifest.build_dir,
    ):
        with contextlib.suppress(OSError):
            sub.rmdir()  # only when empty
