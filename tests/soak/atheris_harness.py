"""libFuzzer (atheris) harness for the spec loader and the lock reader: any
exception other than a ShotbuildError is a crash. Run by test_soak_fuzz.py:
    python tests/soak/atheris_harness.py -runs=N -seed=S"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from shotbuild.errors import ShotbuildError
    from shotbuild.spec import load_spec
    from shotbuild.store.lock import loads_lock

FOLDER = Path(tempfile.mkdtemp(prefix="shotbuild-atheris-"))
SPEC = FOLDER / "shots.yaml"
(FOLDER / "ref.png").write_bytes(b"\x89PNG\r\n\x1a\n")


def one_input(data: bytes) -> None:
    if not data:
        return
    target, rest = data[0] % 2, data[1:]
    try:
        if target == 0:
            SPEC.write_bytes(rest)
            load_spec(SPEC)
        else:
            loads_lock(rest.decode("utf-8", "replace"))
    except ShotbuildError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
