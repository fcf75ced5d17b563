"""YAML to plain values, remembering where each value and key is written.

The text is composed into nodes (libyaml when available) and walked once: plain
dicts, lists and scalars come out, plus the 1-based line and column of every
value and every mapping key, keyed by its path. Duplicate keys are problems
(YAML would silently keep the last one); anchors, aliases and merge keys
(`<<: *base`) work as YAML defines them."""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from shotbuild.spec.model import Position
from shotbuild.spec.problems import JsonPath

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
MAX_DEPTH = 64  # no spec needs more; deeper is an attack or an accident
SAFE_DEPTH = 5_000  # libyaml composes recursively in C: ~50,000 levels crash the process
MAX_VALUES = 1_000_000  # after expanding aliases ("billion laughs" stop here)

Pair = tuple[yaml.Node, yaml.Node]


_Resolvers = tuple[tuple[str, re.Pattern[str]], ...]
_WILDCARD: _Resolvers = tuple(Loader.yaml_implicit_resolvers.get(None, ()))
_BY_FIRST: dict[str, _Resolvers] = {
    first: (*resolvers, *_WILDCARD)
    for first, resolvers in Loader.yaml_implicit_resolvers.items()
    if first is not None
}


_SCALAR_NODE = yaml.ScalarNode
_DEFAULT_SCALAR_TAG: str = Loader.DEFAULT_SCALAR_TAG


class _Resolving(Loader):  # type: ignore[valid-type,misc]
    """`Loader`, tagging a plain scalar in one lookup: libyaml's composer asks Python
    for the tag of every node, and PyYAML's resolve builds two lists per scalar
    (a tenth of a large spec's compose time). The same tags: same regexps, same
    order (the scalar's first character's, then the wildcard's); no path resolvers."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        if not self.yaml_path_resolvers:
            # The composer calls these two around every node; without path resolvers
            # they do nothing. A C callable (found on the instance before the class's
            # method) costs the call no Python frame: a sixth of the compose time.
            self.descend_resolver = _IGNORE_TWO
            self.ascend_resolver = _IGNORE_NONE

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is _SCALAR_NODE and implicit[0] and not self.yaml_path_resolvers:
            for tag, regexp in _BY_FIRST.get(value[:1], _WILDCARD):
                if regexp.match(value):
                    return tag
            return _DEFAULT_SCALAR_TAG
        return str(super().resolve(kind, value, implicit))


_IGNORE_TWO: Any = {}.get  # (parent, index) -> index: stores nothing, raises nothing
_IGNORE_NONE: Any = tuple  # () -> (): likewise


class YamlSyntaxError(Exception):
    """The text is not YAML a spec can be read from (one position, one message)."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


class Nodes:
    """The node of each value (or of each mapping key, `keys=True`) by path, found in
    the composed tree when asked: a map of every value was most of a large spec's
    memory, and most loads ask for no position at all."""

    def __init__(self, root: yaml.Node | None, *, keys: bool) -> None:
        self._root, self._keys = root, keys
        self._pairs: dict[int, dict[str, Pair]] = {}
        self._muted: _Walker | None = None  # pairs() again, reporting no problem twice

    def get(self, path: JsonPath, default: yaml.Node | None = None) -> yaml.Node | None:
        node = self._root
        if self._keys and not path:
            return default
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if last and self._keys and not isinstance(node, yaml.MappingNode):
                return default  # only a mapping's entries have a key
            pair = self._step(node, part)
            if pair is None:
                return default
            node = pair[0] if self._keys and last else pair[1]
        return node if node is not None else default

    def _step(self, node: yaml.Node | None, part: str | int) -> Pair | None:
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            return (node, node.value[part]) if 0 <= part < len(node.value) else None
        if not isinstance(node, yaml.MappingNode) or not isinstance(part, str):
            return None
        pairs = self._pairs.get(id(node))
        if pairs is None:
            if self._muted is None:
                self._muted = _Walker(None)
                self._muted.parsed = Parsed(None, self, self)  # its problems are dropped
            pairs = self._pairs[id(node)] = self._muted.pairs(node)
        return pairs.get(part)

    def __getitem__(self, path: JsonPath) -> yaml.Node:
        node = self.get(path)
        if node is None:
            raise KeyError(path)
        return node

    def __contains__(self, path: object) -> bool:
        return isinstance(path, tuple) and self.get(path) is not None


class Parsed:
    """A YAML document's value, and where each of its values and keys is written."""

    __slots__ = ("keys", "problems", "value", "values")

    def __init__(
        self,
        value: Any,
        values: Nodes | None = None,
        keys: Nodes | None = None,
        problems: list[tuple[Position, str]] | None = None,
    ) -> None:
        self.value = value
        # The node of each value and of each mapping key, by path (found when asked:
        # positions are made from nodes only when asked for, most loads need few).
        self.values = Nodes(None, keys=False) if values is None else values
        self.keys = Nodes(None, keys=True) if keys is None else keys
        self.problems: list[tuple[Position, str]] = [] if problems is None else problems

    def position(self, path: JsonPath, *, key: bool = False) -> Position:
        """Where the value at `path` (or its key) is written; for a path that is
        not in the file (a missing key), where the nearest enclosing value is."""
        if key and path in self.keys:
            return at(self.keys[path])
        for cut in range(len(path), -1, -1):
            node = self.values.get(path[:cut])
            if node is not None:
                return at(node)
        return Position(1, 1)


def at(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def parse(text: str) -> Parsed:
    """Compose and walk `text`; raises YamlSyntaxError when it is not YAML."""
    if _may_nest_deeper_than(text, SAFE_DEPTH):
        _check_depth(text)
    loader = _Resolving(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlSyntaxError(
                Position(1, 1),
                "the file is empty; a spec needs at least `shots:`"
                " (`shotbuild init` writes a starter)",
            )
        walker = _Walker(loader)
        parsed = Parsed(None, Nodes(node, keys=False), Nodes(node, keys=True))
        walker.parsed = parsed
        parsed.value = walker.value(node, 0)
        return parsed
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, text) from None
    except yaml.YAMLError as e:  # e.g. a reader error: a character YAML does not allow
        raise YamlSyntaxError(Position(1, 1), f"not valid YAML: {_one_line(str(e))}") from None
    finally:
        loader.dispose()


def _may_nest_deeper_than(text: str, depth: int) -> bool:
    """A cheap upper bound: flow nesting needs a bracket per level, block nesting
    an indent or an indicator (`- `, `? `) per level at the start of a line."""
    if text.count("[") + text.count("{") > depth:
        return True
    return _deep_lead(depth).search(text) is not None


@functools.cache
def _deep_lead(depth: int) -> re.Pattern[str]:
    """A line that starts with more than `depth` indent or indicator characters (one
    search, instead of a list of every line's lead)."""
    return re.compile(rf"(?m)^[ ?:-]{{{depth + 1}}}")


def _check_depth(text: str) -> None:
    """Walk the event stream (flat, no recursion) and stop at MAX_DEPTH, before
    libyaml's recursive composer could overflow the C stack."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    where = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
                    raise YamlSyntaxError(where, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, text) from None


def _syntax_error(e: yaml.MarkedYAMLError, text: str) -> YamlSyntaxError:
    mark = e.problem_mark or e.context_mark
    position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
    problem = e.problem or e.context or "not valid YAML"
    lines = text.splitlines()
    line = lines[position.line - 1] if 0 < position.line <= len(lines) else ""
    if "\t" in line[: len(line) - len(line.lstrip())] or "\t" in line[position.col - 1 :][:1]:
        tab = Position(position.line, line.index("\t") + 1)
        return YamlSyntaxError(tab, "a tab character in the YAML; indent with spaces, not tabs")
    if "maximum nesting depth" in problem:  # libyaml >= 0.2.5 (PyYAML 6.0.2+) stops at 1,000
        return YamlSyntaxError(position, f"nested more than {MAX_DEPTH} levels deep")
    if "expected a single document" in str(e.context) or "but found another document" in problem:
        return YamlSyntaxError(position, "more than one YAML document; a spec is one document")
    if problem.startswith("found undefined alias") and "'" not in problem:
        alias = re.match(r"\*([^\s,\[\]{}]+)", line[position.col - 1 :])
        name = f" *{alias.group(1)}" if alias else ""
        return YamlSyntaxError(
            position,
            f"the alias{name} names no anchor above it; define `&{name[2:] or 'name'}` first",
        )
    context = f" ({_one_line(e.context)})" if e.context and e.problem else ""
    return YamlSyntaxError(position, f"not valid YAML: {_one_line(problem)}{context}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _yaml11_only(node: yaml.ScalarNode) -> bool:
    """YAML 1.1 readings that YAML 1.2 (editors, check-jsonschema) does not share:
    `16:9` as the number 969, `yes`/`no`/`on`/`off` as booleans. Kept as text."""
    if node.tag == BOOL_TAG:
        return node.value.lower() not in ("true", "false")
    return node.tag in (INT_TAG, FLOAT_TAG) and ":" in node.value


def _plain_decimal(text: str) -> bool:
    """Digits only, no leading zero (YAML 1.1 reads 017 as octal), short enough
    for int(): PyYAML's int constructor gives int(text) for these."""
    return text.isascii() and text.isdigit() and len(text) <= 18 and (text[0] != "0" or text == "0")


def _plain_keys(node: yaml.Node) -> bool:
    """Whether every key of a mapping is a plain scalar, none a merge key, none twice."""
    keys = [k.value for k, _ in node.value if type(k) is _SCALAR_NODE and k.tag != MERGE_TAG]
    return len(keys) == len(node.value) == len(set(keys))


class _Walker:
    parsed: Parsed

    def __init__(self, loader: yaml.SafeLoader | None) -> None:
        self.loader = loader
        self.count = 0
        self.active: set[int] = set()  # nodes being walked (a recursive alias is an error)
        self.merging: set[int] = set()

    def problem(self, node: yaml.Node, message: str) -> None:
        self.parsed.problems.append((at(node), message))

    def value(self, node: yaml.Node, depth: int) -> Any:
        """The value of `node`, `depth` levels below the document's."""
        self.count += 1
        if self.count > MAX_VALUES:
            raise YamlSyntaxError(
                at(node), f"the spec expands to over {MAX_VALUES:,} values; split the spec"
            )
        if isinstance(node, yaml.ScalarNode):
            return node.value if node.tag == STR_TAG else self.scalar(node)  # str: most
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(at(node), f"nested more than {MAX_DEPTH} levels deep")
        ident = id(node)
        if ident in self.active:
            raise YamlSyntaxError(at(node), "an alias refers to a value that contains it")
        self.active.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                return self.sequence(node, depth)
            return self.mapping(node, depth)
        finally:
            self.active.discard(ident)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == STR_TAG or _yaml11_only(node):
            return node.value
        if node.tag == INT_TAG and _plain_decimal(node.value):
            return int(node.value)  # what PyYAML's constructor gives (a duration: most ints)
        try:
            assert self.loader is not None  # only the muted walker has none; it builds nothing
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            self.problem(node, _one_line(getattr(e, "problem", None) or str(e)))
            return node.value
        except Exception:  # PyYAML's constructors fail in many ways on `!!int abc`-like input
            tag = node.tag.rpartition(":")[2]
            self.problem(node, f"{_one_line(node.value)[:40]!r} cannot be read as {tag}")
            return node.value
        if value is None or isinstance(value, str | int | float | bool):
            return value
        return node.value  # a date, binary...: keep the text as written

    def sequence(self, node: yaml.SequenceNode, depth: int) -> list[Any]:
        out: list[Any] = []
        value = self.value
        for item in node.value:
            if type(item) is _SCALAR_NODE and item.tag == STR_TAG and self.count < MAX_VALUES:
                self.count += 1  # what value() does for a string, without the call
                out.append(item.value)
            else:
                out.append(value(item, depth + 1))
        return out

    def mapping(self, node: yaml.Node, depth: int) -> dict[str, Any]:
        """The mapping's value: its `pairs`' values, read in one pass over the nodes
        when every key is a plain scalar written once (nearly every mapping)."""
        if _plain_keys(node):
            return self.plain_mapping(node, depth)
        value = self.value
        return {key: value(pair[1], depth + 1) for key, pair in self.pairs(node).items()}

    def plain_mapping(self, node: yaml.Node, depth: int) -> dict[str, Any]:
        """`mapping` of a mapping with plain keys only (see _plain_keys)."""
        out: dict[str, Any] = {}
        value = self.value
        for key_node, value_node in node.value:
            if type(value_node) is _SCALAR_NODE and self.count < MAX_VALUES:
                tag, text = value_node.tag, value_node.value
                if tag == STR_TAG:  # what value() does for a string (most values)
                    self.count += 1
                    out[key_node.value] = text
                    continue
                if tag == INT_TAG and _plain_decimal(text):  # ... and for a plain int
                    self.count += 1
                    out[key_node.value] = int(text)
                    continue
            out[key_node.value] = value(value_node, depth + 1)
        return out

    def pairs(self, node: yaml.Node) -> dict[str, Pair]:
        """The mapping's keys in order, merge keys applied (explicit keys win,
        then the merged mappings in the order given)."""
        explicit: dict[str, Pair] = {}
        merged: dict[str, Pair] = {}
        if id(node) in self.merging:
            raise YamlSyntaxError(at(node), "a merge key refers to the mapping that contains it")
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                self.merging.add(id(node))
                try:
                    for source in self.merge_sources(value_node):
                        for key, pair in self.pairs(source).items():
                            merged.setdefault(key, pair)
                finally:
                    self.merging.discard(id(node))
                continue
            if isinstance(key_node, yaml.ScalarNode):
                name = str(key_node.value)
            else:
                self.problem(key_node, "a mapping key must be a plain name, not a list or mapping")
                continue
            if name in explicit:
                first = at(explicit[name][0]).line
                self.problem(key_node, f"{name}: duplicate key (first at line {first})")
                continue
            explicit[name] = (key_node, value_node)
        for key, pair in merged.items():
            explicit.setdefault(key, pair)
        return explicit

    def merge_sources(self, node: yaml.Node) -> list[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(n, yaml.MappingNode) for n in node.value
        ):
            return list(node.value)
        self.problem(
            node, "<<: a merge key takes a mapping (an alias like *base) or a list of them"
        )
        return []
