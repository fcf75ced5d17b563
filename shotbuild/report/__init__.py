"""Reporters: outcomes turned into the text a person, a program or a CI service reads.
Each returns an `Output` (lines for stdout and for stderr); the command prints it."""

from __future__ import annotations

from shotbuild.report.base import Output
from shotbuild.report.validate import REPORTERS, ValidateReporter

__all__ = ["REPORTERS", "Output", "ValidateReporter"]
