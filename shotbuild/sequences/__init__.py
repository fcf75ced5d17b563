"""Sequences: cuts assembled from finished shots (`build/<seq>.mp4`) and handed
to editors as OpenTimelineIO, FCP 7 XML and (when its adapter is installed)
CMX 3600 EDL. Importing this package is cheap: PyAV (the `preview` extra) is
imported when a cut is assembled, OpenTimelineIO (the `edit` extra) when one
is exported.

The engine calls two functions: `plan_sequences` (pure: assemble / up to date /
waiting for shots, each with a reason) and `assemble_built` (after a build, or
the build a pick runs: `assemble_all` on the cuts it concerns, a result per
sequence). The review page encodes a cut ahead, outside the build lock
(`encode_ahead`), and hands it to `assemble_all` to put in place."""

from __future__ import annotations

from shotbuild.sequences.assemble import (
    ASSEMBLED,
    FAILED,
    SKIPPED,
    UP_TO_DATE,
    Made,
    SequenceResult,
    assemble_all,
    assemble_built,
    encode_ahead,
    remove_outputs,
)
from shotbuild.sequences.plan import (
    ASSEMBLER_VERSION,
    SequencePlan,
    SequenceStatus,
    plan_sequences,
)

__all__ = [
    "ASSEMBLED",
    "ASSEMBLER_VERSION",
    "FAILED",
    "SKIPPED",
    "UP_TO_DATE",
    "Made",
    "SequencePlan",
    "SequenceResult",
    "SequenceStatus",
    "assemble_all",
    "assemble_built",
    "encode_ahead",
    "plan_sequences",
    "remove_outputs",
]
