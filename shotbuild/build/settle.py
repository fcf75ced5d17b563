"""What a build does for its shots that need no backend: a shot up to date (only
its cosmetic fields changed: they are recorded in the build folder's manifest),
and the temporary files a killed build left. A build whose every shot is settled
does only this and never imports the engine (run.py), so this module stays light."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shotbuild.status import ShotStatus

if TYPE_CHECKING:
    from pathlib import Path

    from shotbuild.build.options import BuildResult
    from shotbuild.plan import PlanItem, Settled
    from shotbuild.store.outputs import Manifest


def up_to_date(result: BuildResult, manifest: Manifest, rel: str, item: Settled) -> None:
    """A settled shot (its output at `rel`) is up to date. When only its cosmetic
    fields changed, they are recorded in the manifest: nothing is rendered."""
    owned = manifest.get(rel) if item.status == ShotStatus.COSMETIC else None
    if owned is not None:
        shot = item.shot
        changed = dataclasses.replace(owned, title=shot.title, callback_url=shot.callback_url)
        manifest.put(rel, changed)
    result.up_to_date.append(item.name)


def remove_stale_temps(folder: Path, items: Sequence[PlanItem]) -> None:
    """Remove what a killed build left half-copied: `.<output>.<random>.tmp` files of
    this spec's outputs (the build lock says no other build is writing them)."""
    try:
        temps = [entry for entry in os.scandir(folder) if entry.name.endswith(".tmp")]
    except OSError:
        return
    if not temps:  # the usual case: no item's output path is looked at
        return
    prefixes = tuple(f".{item.output.name}." for item in items)
    for entry in temps:
        if entry.name.startswith(prefixes):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
