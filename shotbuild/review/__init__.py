"""`shotbuild review`: a local page to watch every shot, compare takes and pick
(the `review` extra: Starlette on uvicorn, watchfiles). Importing this package
needs none of them; serving does, and says so in one line when they are missing.

model.py is the one adapter to the engine (spec + plan + lock + build folder ->
the view model); app.py serves it, live.py keeps it current, export.py writes
it as static files."""

from __future__ import annotations

import importlib.util
from importlib import resources

from shotbuild.errors import MissingExtra


def require_extra(feature: str = "shotbuild review") -> None:
    for name in ("starlette", "uvicorn", "watchfiles"):
        if importlib.util.find_spec(name) is None:
            raise MissingExtra(feature, "review")


def asset(name: str) -> bytes:
    """One of the page's files shipped in the package (assets/)."""
    return resources.files("shotbuild.review").joinpath("assets", name).read_bytes()
