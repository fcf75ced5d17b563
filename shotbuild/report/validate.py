"""`validate`'s reporters behind one interface: text (path:line:col: message lines
and a summary), json (one document) and github (Actions annotations)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from shotbuild.report.base import Output
from shotbuild.spec.files import Checked
from shotbuild.spec.problems import Problem

FORMAT_VERSION = 1


class ValidateReporter(Protocol):
    def __call__(self, results: Sequence[Checked]) -> Output: ...


def _problems(results: Iterable[Checked]) -> Iterator[Problem]:
    for result in results:
        yield from result.problems


def report_text(results: Sequence[Checked]) -> Output:
    lines = tuple(str(problem) for problem in _problems(results))
    bad = [r for r in results if r.problems]
    count = sum(len(r.problems) for r in bad)
    files = f"{len(results)} file" + ("" if len(results) == 1 else "s")
    if not bad:
        return Output(lines, (f"{files} valid",))
    noun = "problem" if count == 1 else "problems"
    return Output(lines, (f"{count} {noun} in {len(bad)} of {files}",))


def report_json(results: Sequence[Checked]) -> Output:
    document = {
        "format_version": FORMAT_VERSION,
        "valid": not any(r.problems for r in results),
        "files": [
            {
                "path": r.path,
                "valid": not r.problems,
                "problems": [
                    {"line": p.line, "col": p.col, "message": p.message} for p in r.problems
                ],
            }
            for r in results
        ],
    }
    return Output((json.dumps(document, indent=2, ensure_ascii=False),))


def _escape(text: str, *, property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


def report_github(results: Sequence[Checked]) -> Output:
    """GitHub Actions workflow commands: each problem annotates its line."""
    lines = []
    for p in _problems(results):
        where = f"file={_escape(p.file, property=True)},line={p.line},col={p.col}"
        lines.append(f"::error {where},title=shotbuild validate::{_escape(p.message)}")
    return Output(tuple(lines))


REPORTERS: dict[str, ValidateReporter] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
}
