"""A yes/no JSON Schema check, compiled into plain Python closures.

Valid specs are the common case (every build loads one; pre-commit checks
unchanged files), and jsonschema takes longer than reading the YAML. So a valid
document is confirmed here, without importing jsonschema; only an invalid one is
handed to jsonschema for its detailed errors. This covers the keywords the
shipped schema uses, with jsonschema's Draft 2020-12 semantics; any other
keyword raises Unsupported, and the caller then uses jsonschema for everything.
Tests check that both agree on many random documents."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

Check = Callable[[Any], bool]

# Keywords that never affect validity (here: no format assertions, like jsonschema's default).
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
    | {"format", "deprecated", "readOnly", "writeOnly"}
)
# Handled together with another keyword.
COMPANIONS = frozenset({"then", "else", "patternProperties", "additionalProperties"})


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not know."""


def compile_schema(root: Mapping[str, Any]) -> Check:
    return _Compiler(root).compile(root)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


def equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1.0 is 1."""
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return False
    return bool(a == b)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]

    def check(v: Any) -> bool:
        for c in checks:  # noqa: SIM110 (a plain loop: this is the hot path)
            if not c(v):
                return False
        return True

    return check


def _each(sub: Check, kind: type) -> Check:
    """`sub` holds for every item of a list (or key of a dict) of `kind`."""

    def check(v: Any) -> bool:
        if not isinstance(v, kind):
            return True
        for item in cast(Iterable[Any], v):  # noqa: SIM110 (a plain loop: the hot path)
            if not sub(item):
                return False
        return True

    return check


def _properties(known: dict[str, Check], extra: Check) -> Check:
    """properties and additionalProperties, with no patternProperties beside them."""

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        get = known.get
        for key, item in v.items():
            sub = get(key, extra)
            if not sub(item):
                return False
        return True

    return check


_STRING_WORDS = frozenset({"type", "minLength", "maxLength", "pattern"})
_NUMBER_WORDS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def _fused(schema: Mapping[str, Any]) -> Check | None:
    """One check for a string's or a number's schema (`type` with its length and
    pattern, or its bounds), the same as the keywords' checks together: a value is
    checked by one call, not by one per keyword (fields of every shot, each load)."""
    words = {k for k in schema if k not in ANNOTATIONS}
    kind = schema.get("type")
    if kind == "string" and words <= _STRING_WORDS:
        return _string(schema.get("minLength"), schema.get("maxLength"), schema.get("pattern"))
    if kind in ("integer", "number") and words <= _NUMBER_WORDS:
        bounds = [schema.get(k) for k in ("minimum", "maximum")]
        bounds += [schema.get(k) for k in ("exclusiveMinimum", "exclusiveMaximum")]
        return _number(TYPES[kind], *bounds)
    return None


def _string(low: int | None, high: int | None, pattern: str | None) -> Check:
    shortest = 0 if low is None else low
    longest = high
    search = re.compile(pattern).search if pattern is not None else None

    def check(v: Any) -> bool:
        if not isinstance(v, str) or len(v) < shortest:
            return False
        if longest is not None and len(v) > longest:
            return False
        return search is None or search(v) is not None

    return check


def _number(is_kind: Check, low: Any, high: Any, above: Any = None, below: Any = None) -> Check:
    def check(v: Any) -> bool:
        if not is_kind(v):
            return False
        if (low is not None and v < low) or (high is not None and v > high):
            return False  # (NaN passes, as in jsonschema: no comparison fails it)
        return not ((above is not None and v <= above) or (below is not None and v >= below))

    return check


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}
        self.compiling: set[str] = set()  # refs whose target is being compiled

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, Mapping):
            raise Unsupported(f"schema {schema!r}")
        fused = _fused(schema)
        if fused is not None:
            return fused
        checks: list[Check] = []
        for key, value in schema.items():
            if key in ANNOTATIONS or key in COMPANIONS:
                continue
            build = getattr(self, "k_" + key.lstrip("$"), None)
            if build is None:
                raise Unsupported(key)
            checks.append(build(value, schema))
        if "properties" not in schema and (
            "patternProperties" in schema or "additionalProperties" in schema
        ):
            checks.append(self.k_properties({}, schema))
        return _all(checks)

    def k_ref(self, ref: str, schema: Mapping[str, Any]) -> Check:
        if ref not in self.refs:
            if not ref.startswith("#"):
                raise Unsupported(f"$ref {ref}")
            target: Any = self.root
            for part in filter(None, ref[1:].split("/")):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            self.refs[ref] = lambda v: True  # a placeholder while a recursive ref compiles
            self.compiling.add(ref)
            self.refs[ref] = self.compile(target)
            self.compiling.discard(ref)
        if ref not in self.compiling:
            return self.refs[ref]  # compiled: call it directly
        refs = self.refs  # recursive: looked up when called, so it sees the real check
        return lambda v: refs[ref](v)

    def k_type(self, value: Any, schema: Mapping[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        checks = [TYPES[n] for n in names]
        if len(checks) == 1:
            return checks[0]
        return lambda v: any(c(v) for c in checks)

    def k_enum(self, options: list[Any], schema: Mapping[str, Any]) -> Check:
        if options and all(isinstance(o, str) for o in options):
            words = frozenset(options)  # only a string equals a string (equal())
            return lambda v: isinstance(v, str) and v in words
        return lambda v: any(equal(v, o) for o in options)

    def k_const(self, const: Any, schema: Mapping[str, Any]) -> Check:
        if isinstance(const, str):
            return lambda v: isinstance(v, str) and v == const
        return lambda v: equal(v, const)

    def k_required(self, keys: list[str], schema: Mapping[str, Any]) -> Check:
        if len(keys) == 1:
            (key,) = keys
            return lambda v: not isinstance(v, dict) or key in v
        wanted = frozenset(keys)
        return lambda v: not isinstance(v, dict) or wanted <= v.keys()

    def k_properties(self, props: Mapping[str, Any], schema: Mapping[str, Any]) -> Check:
        known = {k: self.compile(s) for k, s in props.items()}
        patterns = [
            (re.compile(p), self.compile(s)) for p, s in schema.get("patternProperties", {}).items()
        ]
        extra = self.compile(schema.get("additionalProperties", True))
        if not patterns:
            return _properties(known, extra)

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, item in v.items():
                sub = known.get(key)
                matched = sub is not None
                if matched and not sub(item):  # type: ignore[misc]
                    return False
                for pattern, pattern_check in patterns:
                    if pattern.search(key):
                        matched = True
                        if not pattern_check(item):
                            return False
                if not matched and not extra(item):
                    return False
            return True

        return check

    def k_propertyNames(self, names: Any, schema: Mapping[str, Any]) -> Check:
        return _each(self.compile(names), dict)

    def k_items(self, items: Any, schema: Mapping[str, Any]) -> Check:
        return _each(self.compile(items), list)

    def k_allOf(self, schemas: list[Any], schema: Mapping[str, Any]) -> Check:
        return _all([self.compile(s) for s in schemas])

    def k_anyOf(self, schemas: list[Any], schema: Mapping[str, Any]) -> Check:
        subs = [self.compile(s) for s in schemas]
        return lambda v: any(s(v) for s in subs)

    def k_oneOf(self, schemas: list[Any], schema: Mapping[str, Any]) -> Check:
        subs = [self.compile(s) for s in schemas]
        return lambda v: sum(1 for s in subs if s(v)) == 1

    def k_not(self, inner: Any, schema: Mapping[str, Any]) -> Check:
        sub = self.compile(inner)
        return lambda v: not sub(v)

    def k_if(self, condition: Any, schema: Mapping[str, Any]) -> Check:
        cond = self.compile(condition)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda v: then(v) if cond(v) else otherwise(v)

    def k_pattern(self, pattern: str, schema: Mapping[str, Any]) -> Check:
        search = re.compile(pattern).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    def k_minLength(self, n: int, schema: Mapping[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= n

    def k_maxLength(self, n: int, schema: Mapping[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) <= n

    def k_minItems(self, n: int, schema: Mapping[str, Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) >= n

    def k_maxItems(self, n: int, schema: Mapping[str, Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) <= n

    def k_minProperties(self, n: int, schema: Mapping[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) >= n

    def k_maxProperties(self, n: int, schema: Mapping[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) <= n

    def k_minimum(self, n: float, schema: Mapping[str, Any]) -> Check:
        return lambda v: not _is_number(v) or not v < n

    def k_maximum(self, n: float, schema: Mapping[str, Any]) -> Check:
        return lambda v: not _is_number(v) or not v > n

    def k_exclusiveMinimum(self, n: float, schema: Mapping[str, Any]) -> Check:
        return lambda v: not _is_number(v) or not v <= n

    def k_exclusiveMaximum(self, n: float, schema: Mapping[str, Any]) -> Check:
        return lambda v: not _is_number(v) or not v >= n

    def k_uniqueItems(self, unique: bool, schema: Mapping[str, Any]) -> Check:
        def check(v: Any) -> bool:
            if not unique or not isinstance(v, list):
                return True
            if all(type(a) is str for a in v):  # the common case: a list of IDs
                return len(set(v)) == len(v)
            return not any(equal(a, b) for i, a in enumerate(v) for b in v[i + 1 :])

        return check
