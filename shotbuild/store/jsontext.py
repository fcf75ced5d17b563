"""Indented JSON documents of many small members, re-encoded only where they changed.

`json.dumps(doc, indent=2)` runs the pure-Python encoder over the whole document
(the C encoder does not indent): about 26 ms per MB, paid again for every write of a
lock or manifest that changed by one shot. A document here is an object whose
members are each encoded once with the same `json.dumps` options and re-indented
to their depth; the joined text is byte for byte what `json.dumps` of the whole
document gives (tests compare them), so a committed shots.lock never churns."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, TypeVar

T = TypeVar("T")

INDENT = 2


def member(name: str, value: Any, depth: int, *, ensure_ascii: bool, sort_keys: bool) -> str:
    """`"name": value` as json.dumps(indent=2) writes it inside an object `depth`
    levels deep (1: a member of the top object), indentation included."""
    pad = " " * (INDENT * depth)
    quote = encode_basestring_ascii if ensure_ascii else encode_basestring
    text = _plain(value, depth, quote, sort_keys)
    if text is None:  # a value _plain does not write: json's own encoder, re-indented
        text = json.dumps(value, indent=INDENT, ensure_ascii=ensure_ascii, sort_keys=sort_keys)
        # strings are encoded with \n escaped: every newline in `text` is between tokens
        text = text.replace("\n", "\n" + pad)
    return f"{pad}{quote(name)}: {text}"


def _plain(value: Any, depth: int, quote: Callable[[str], str], sort_keys: bool) -> str | None:
    """`value` as json.dumps(indent=2) writes it `depth` levels deep, for the plain
    values a lock or a manifest holds (objects with string keys, lists, strings,
    ints, finite floats, booleans, None); None for anything else. json.dumps runs
    its pure-Python encoder when it indents: this is the same text, several times
    faster (every value of every shot a build writes goes through here)."""
    kind = type(value)
    if kind is str:
        return quote(value)
    if value is None or kind is bool:
        return "null" if value is None else "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return float.__repr__(value) if math.isfinite(value) else None
    if kind is dict:
        return _container(value, depth, quote, sort_keys)
    if kind is list:
        return _container(value, depth, quote, sort_keys)
    return None


def _container(
    value: dict[Any, Any] | list[Any], depth: int, quote: Callable[[str], str], sort_keys: bool
) -> str | None:
    if not value:
        return "{}" if type(value) is dict else "[]"
    inner = " " * (INDENT * (depth + 1))
    parts = []
    if type(value) is dict:
        for key, item in sorted(value.items()) if sort_keys else value.items():
            text = _plain(item, depth + 1, quote, sort_keys) if type(key) is str else None
            if text is None:
                return None
            parts.append(f"{inner}{quote(key)}: {text}")
        opening, closing = "{", "}"
    else:
        for item in value:
            text = _plain(item, depth + 1, quote, sort_keys)
            if text is None:
                return None
            parts.append(inner + text)
        opening, closing = "[", "]"
    return f"{opening}\n" + ",\n".join(parts) + "\n" + " " * (INDENT * depth) + closing


def object_text(members: Iterable[str], depth: int) -> str:
    """The object `{...}` holding `members` (from `member` at depth + 1), itself at
    `depth` (0: the document)."""
    body = ",\n".join(members)
    if not body:
        return "{}"
    return "{\n" + body + "\n" + " " * (INDENT * depth) + "}"


class Members:
    """The encoded members of one object, by name: a member is encoded again only
    when its value is not the very object it was encoded from (values are frozen)."""

    def __init__(self, depth: int, *, ensure_ascii: bool, sort_keys: bool) -> None:
        self.depth = depth
        self.ensure_ascii = ensure_ascii
        self.sort_keys = sort_keys
        self._done: dict[str, tuple[object, str]] = {}

    def text(self, name: str, source: T, to_json: Callable[[T], Any]) -> str:
        """The member `name`, whose value is `to_json(source)` (called only when
        `source` is not the object the member was last encoded from)."""
        known = self._done.get(name)
        if known is not None and known[0] is source:
            return known[1]
        value = to_json(source)
        text = member(
            name, value, self.depth, ensure_ascii=self.ensure_ascii, sort_keys=self.sort_keys
        )
        self._done[name] = (source, text)
        return text

    def keep_only(self, names: Collection[str]) -> None:
        """Forget the members not in `names` (gone from the object), if any are."""
        if len(self._done) > len(names):
            for name in [n for n in self._done if n not in names]:
                del self._done[name]
