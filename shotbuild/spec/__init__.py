"""The spec: shots.yaml read with positions, checked against the packaged JSON
Schema and the semantic rules, and turned into the model (Spec, Shot, Reference)."""

from __future__ import annotations

from shotbuild.spec.load import check_file, load_spec
from shotbuild.spec.model import Position, Reference, Shot, Spec
from shotbuild.spec.problems import Problem, SpecInvalid

__all__ = [
    "Position",
    "Problem",
    "Reference",
    "Shot",
    "Spec",
    "SpecInvalid",
    "check_file",
    "load_spec",
]
