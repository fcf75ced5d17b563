"""`defaults` merged under each shot: a shot's own value wins, lists replace
(they are not joined), and every field remembers where it was written."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from shotbuild.spec.problems import JsonPath


class MergedShot:
    """A shot's fields with the defaults merged under them, and where each came from."""

    __slots__ = ("_path", "fields", "name", "own")

    def __init__(self, name: str, fields: dict[str, Any], own: Mapping[str, Any]) -> None:
        self.name: Final = name
        self.fields: Final = fields
        self.own: Final = own  # the shot's own fields (the rest came from defaults)
        self._path: Final[JsonPath] = ("shots", name)

    @property
    def origin(self) -> dict[str, JsonPath]:
        """Field -> the mapping it came from: the shot or defaults."""
        return {key: self._path if key in self.own else _DEFAULTS for key in self.fields}

    def where(self, field: str, *sub: str | int) -> JsonPath:
        """The document path of a field (or of a value inside it)."""
        if field not in self.fields:
            raise KeyError(field)
        return (*(self._path if field in self.own else _DEFAULTS), field, *sub)


_DEFAULTS: JsonPath = ("defaults",)


def merge(name: str, own: Mapping[str, Any], defaults: Mapping[str, Any]) -> MergedShot:
    fields = {**defaults, **own}
    # duration and auto_duration are one choice: the one the shot makes itself wins
    # over the other one inherited from defaults.
    if fields.get("auto_duration") is True and "duration" in fields:
        if "auto_duration" in own and "duration" not in own:
            del fields["duration"]
        elif "duration" in own and "auto_duration" not in own:
            fields["auto_duration"] = False
    return MergedShot(name, fields, own)


def subpaths(value: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    """The path of a value and of every value inside it."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from subpaths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from subpaths(item, (*path, i))
