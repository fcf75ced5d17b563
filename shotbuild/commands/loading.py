"""Finding and loading the spec a command is about (no click here: a plain
`shotbuild build` runs without click, see shotbuild.commands.plain)."""

from __future__ import annotations

import gc
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported on a plain build's path
if TYPE_CHECKING:
    from shotbuild.spec.model import Spec


def load(path: Path | None) -> Spec:
    """The spec at `path`, else shots.yaml in the current folder."""
    from shotbuild.errors import ShotbuildError
    from shotbuild.spec import load_spec

    path = path if path is not None else Path("shots.yaml")
    if not path.is_file():
        where = (
            "no shots.yaml in this folder"
            if path == Path("shots.yaml")
            else f"{path}: no such file"
        )
        raise ShotbuildError(
            f"{where}; give the spec's path, e.g. `shotbuild build examples/launch/shots.yaml`"
        )
    spec = load_spec(path.resolve())
    # The spec lives as long as the command: keep the cyclic collector from walking
    # its (acyclic) objects again and again while the plan is made (bench/run.py,
    # no-op growth: 10,000 shots were super-linear without this).
    gc.freeze()
    return spec
