"""The packaged JSON Schema, and its errors as one-line messages.

The schema ships inside the wheel (shotbuild/schemas/shots.schema.json); in a
source checkout it is read from the repository's schemas/ folder. It is never
fetched from the network. jsonschema is imported on first use, and the compiled
validator is reused."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from shotbuild.spec.problems import JsonPath, label

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

SCHEMA_NAME = "shots.schema.json"
SHOT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$(?!\\n)"
SIZE_PATTERN = "^[1-9][0-9]{1,3}x[1-9][0-9]{1,3}$(?!\\n)"  # a sequence's size

_PATTERN_MESSAGES = {
    SHOT_NAME_PATTERN: "invalid shot name; use at most 100 letters, digits, '.', '_' or '-', "
    "starting with a letter or digit",
    SIZE_PATTERN: "must be WIDTHxHEIGHT in pixels, e.g. 1280x720",
    "\\S": "must not be blank",
    "^\\S+$(?!\\n)": "must not be empty or contain spaces",
}
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def schema_path() -> Path:
    """The schema file: the copy inside the package, else the source checkout's."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "schemas" / SCHEMA_NAME
    return packaged if packaged.is_file() else here.parent / "schemas" / SCHEMA_NAME


@functools.cache
def schema() -> dict[str, Any]:
    with schema_path().open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@functools.cache
def quick_check() -> Callable[[Any], bool]:
    """Whether a document is valid, without jsonschema (see fastcheck)."""
    from shotbuild.spec.fastcheck import Unsupported, compile_schema

    try:
        return compile_schema(schema())
    except Unsupported:
        return lambda document: validator().is_valid(document)


@functools.cache
def validator() -> Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


class SchemaError(NamedTuple):
    path: JsonPath  # the offending value, or the offending key when at_key
    message: str
    at_key: bool = False


def errors(document: Any) -> list[SchemaError]:
    """Every schema error, as a one-line message; fast when the document is valid."""
    if quick_check()(document):
        return []
    found: list[SchemaError] = []
    for error in validator().iter_errors(document):
        found.extend(_translate(error))
    return found


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The errors that say what is wrong (not "not valid under allOf")."""
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def _translate(error: ValidationError) -> Iterator[SchemaError]:
    for leaf in _leaves(error):
        path: JsonPath = tuple(leaf.absolute_path)
        kind = "propertyNames" if "propertyNames" in leaf.absolute_schema_path else leaf.validator
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            yield SchemaError(path, f"{label(path)}: {_clip(leaf.message)}")
        else:
            yield from handler(leaf, path)


def _keyword(error: ValidationError) -> Any:
    """The value of the schema keyword that failed (e.g. the enum's list)."""
    return error.validator_value


def _sibling(error: ValidationError, keyword: str) -> Any:
    """Another keyword of the schema that failed, e.g. `maximum` beside `minimum`."""
    return error.schema.get(keyword) if isinstance(error.schema, dict) else None


def _unknown_keys(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    known = sorted(_sibling(error, "properties") or {})
    patterns = _sibling(error, "patternProperties") or {}
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in instance:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        import difflib  # only for a misspelt key

        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]}?" if near else f"; allowed: {', '.join(known)}"
        yield SchemaError((*path, key), f"{_clip(key, 40)}: unknown key{hint}", at_key=True)


def _required(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    missing = [k for k in _keyword(error) if k not in instance]
    where = label(path)
    for key in missing:
        if len(path) == 2 and path[0] == "shots":
            message = f"{where}: missing {key} (set it in this shot or under defaults)"
        else:
            message = f"{where}: missing required key {key}"
        yield SchemaError(path, message, at_key=True)  # at the name of what lacks it


def _type(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    expected = _keyword(error)
    names = [expected] if isinstance(expected, str) else list(expected)
    want = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
    yield SchemaError(path, f"{label(path)}: must be {want}, not {_describe(error.instance)}")


def _enum(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    options = ", ".join(str(v) for v in _keyword(error))
    yield SchemaError(
        path, f"{label(path)}: must be one of {options} (found {_show(error.instance)})"
    )


def _const(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    if path and path[-1] == "type" and len(path) >= 2:
        return  # a reference's type chose this branch; the enum error (if any) says it
    yield SchemaError(
        path, f"{label(path)}: must be {_keyword(error)} (found {_show(error.instance)})"
    )


def _range(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    low, high = _sibling(error, "minimum"), _sibling(error, "maximum")
    if low is not None and high is not None:
        bounds = f"from {low} to {high}"
    else:
        bounds = f"at least {low}" if low is not None else f"at most {high}"
    yield SchemaError(path, f"{label(path)}: must be {bounds} (found {_show(error.instance)})")


def _size(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    kind = str(error.validator)[3:]  # Length, Items, Properties
    noun = {"Length": "characters", "Items": "items", "Properties": "entries"}[kind]
    low, high = _sibling(error, f"min{kind}"), _sibling(error, f"max{kind}")
    if low is not None and high is not None:
        bounds = f"{low}-{high} {noun}"
    else:
        bounds = f"at least {low} {noun}" if low is not None else f"at most {high} {noun}"
    found = len(error.instance) if isinstance(error.instance, str | list | dict) else "?"
    if low == 1 and found == 0:
        yield SchemaError(path, f"{label(path)}: must not be empty")
        return
    yield SchemaError(path, f"{label(path)}: must have {bounds} (found {found})")


def _pattern(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    pattern = str(_keyword(error))
    if path and path[-1] in ("url", "callback_url"):
        message = "must be an http:// or https:// URL"
    elif path and path[-1] == "media_type":
        message = "must be an image/... or video/... media type, e.g. image/png"
    else:
        message = _PATTERN_MESSAGES.get(pattern, f"must match {pattern}")
    yield SchemaError(path, f"{label(path)}: {message} (found {_show(error.instance)})")


def _property_names(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    name = str(error.instance)
    message = f"{_clip(name, 40)}: {_PATTERN_MESSAGES[SHOT_NAME_PATTERN]}"
    yield SchemaError((*path, name), message, at_key=True)


def _not(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    if _keyword(error) == {"required": ["duration"]}:
        message = "duration: not allowed together with auto_duration: true; remove one of them"
        yield SchemaError((*path, "duration"), message)
    else:
        yield SchemaError(path, f"{label(path)}: {_clip(error.message)}")


def _unique(error: ValidationError, path: JsonPath) -> Iterator[SchemaError]:
    yield SchemaError(path, f"{label(path)}: lists the same value twice")


_HANDLERS = {
    "additionalProperties": _unknown_keys,
    "required": _required,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _range,
    "maximum": _range,
    "minLength": _size,
    "maxLength": _size,
    "minItems": _size,
    "maxItems": _size,
    "pattern": _pattern,
    "propertyNames": _property_names,
    "not": _not,
    "uniqueItems": _unique,
}


def _describe(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"{_show(value)} (a number)"
    return f"{_show(value)} (a string)"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:37] + "...", ensure_ascii=False)
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return _clip(str(value), 40)


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
