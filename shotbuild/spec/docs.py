"""The spec reference in README.md, generated from the schema so the two cannot
drift: `python -m shotbuild.spec.docs` rewrites the text between the markers;
`--check` only reports whether it is up to date (a test runs that)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shotbuild.spec import schema

START = "<!-- spec-reference:start -->"
END = "<!-- spec-reference:end -->"
README = Path(__file__).resolve().parent.parent.parent / "README.md"


def describe_type(sub: Mapping[str, Any]) -> str:
    """A schema value's type in a few words, e.g. "integer, 4-15"."""
    if "const" in sub:
        return f"`{sub['const']}`"
    if "enum" in sub:
        return " \\| ".join(f"`{v}`" for v in sub["enum"])
    kind = sub.get("type", "any")
    if kind == "array":
        items = sub.get("items", {})
        inner = "reference" if "$ref" in items else describe_type(items)
        low, high = sub.get("minItems"), sub.get("maxItems")
        count = f", {low}-{high} items" if low is not None and high is not None else ""
        count = count or (f", at most {high} items" if high is not None else "")
        return f"list of {inner}{count}"
    if kind == "integer":
        return f"integer, {sub['minimum']}-{sub['maximum']}" if "minimum" in sub else "integer"
    if kind == "string":
        low, high = sub.get("minLength"), sub.get("maxLength")
        if sub.get("pattern", "").startswith("^https?://"):
            return "http(s) URL"
        if low and high:
            return f"string, {low}-{high:,} characters"
        return "string"
    if kind == "object":
        return "mapping"
    return str(kind)


def _row(*cells: str) -> str:
    return "| " + " | ".join(c.replace("\n", " ") for c in cells) + " |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(sub: Mapping[str, Any]) -> str:
    if "default" not in sub:
        return ""
    value = sub["default"]
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


_TOP_KINDS = {"shots": "mapping: shot name -> shot", "sequences": "mapping: name -> sequence"}


def _top_level(doc: Mapping[str, Any]) -> Iterator[str]:
    yield "### Top level"
    yield ""
    yield _row("key", "type", "default", "description")
    yield _row("---", "---", "---", "---")
    required = set(doc.get("required", []))
    for key, sub in doc["properties"].items():
        need = " **Required.**" if key in required else ""
        kind = _TOP_KINDS.get(key) or describe_type(sub)
        kind = "shot fields" if key == "defaults" else kind
        yield _row(f"`{key}`", kind, _default(sub), _cell(sub["description"]) + need)
    for pattern, sub in doc.get("patternProperties", {}).items():
        yield _row(f"`{pattern.lstrip('^')}...`", "any", "", _cell(sub["description"]))


def _shot_fields(doc: Mapping[str, Any]) -> Iterator[str]:
    shot = doc["$defs"]["shot"]
    yield "### Shot fields"
    yield ""
    yield shot["description"] + " Any field may also be set under `defaults`."
    yield ""
    yield _row("key", "type", "default", "description")
    yield _row("---", "---", "---", "---")
    required = {
        key
        for rule in doc.get("allOf", [])
        for key in rule["else"]["properties"]["shots"]["additionalProperties"]["required"]
    }
    for key, sub in shot["properties"].items():
        need = " **Required** (in the shot or in `defaults`)." if key in required else ""
        description = _cell(sub["description"]) + need
        yield _row(f"`{key}`", describe_type(sub), _default(sub), description)


def _references(doc: Mapping[str, Any]) -> Iterator[str]:
    defs = doc["$defs"]
    yield "### References"
    yield ""
    yield defs["reference"]["description"]
    yield ""
    yield _row("type", "keys", "description")
    yield _row("---", "---", "---")
    media = ""
    for name in ("urlReference", "assetReference", "fileReference", "base64Reference"):
        ref = defs[name]
        keys = []
        for key, sub in ref["properties"].items():
            if key == "media":
                media = sub["description"]
                keys.append(f"`{key}`: {describe_type(sub)}")
            elif key != "type":
                need = " (required)" if key in ref.get("required", []) else ""
                keys.append(f"`{key}`{need}: {_cell(sub['description'])}")
        kind = ref["properties"]["type"]["const"]
        yield _row(f"`{kind}`", "<br>".join(keys), _cell(ref["description"]))
    yield ""
    yield f"`media`: {media}"


def _sequences(doc: Mapping[str, Any]) -> Iterator[str]:
    defs = doc["$defs"]
    yield "### Sequences"
    yield ""
    yield defs["sequence"]["description"]
    yield ""
    yield _row("key", "type", "default", "description")
    yield _row("---", "---", "---", "---")
    for key, sub in defs["sequence"]["properties"].items():
        need = " **Required.**" if key in defs["sequence"].get("required", []) else ""
        kind = "list of members, at least 1" if key == "shots" else describe_type(sub)
        yield _row(f"`{key}`", kind, _default(sub), _cell(sub["description"]) + need)
    member = defs["sequenceMember"]
    for key, sub in member["properties"].items():
        kind = "number, seconds" if sub.get("type") == "number" else describe_type(sub)
        yield _row(f"`shots[].{key}`", kind, "", _cell(sub["description"]))


def reference() -> str:
    """The generated Markdown, markers included."""
    doc = schema.schema()
    lines = [
        START,
        "<!-- generated from schemas/shots.schema.json by `python -m shotbuild.spec.docs`;"
        " edit the schema, not this text -->",
        "",
        *_top_level(doc),
        "",
        *_shot_fields(doc),
        "",
        *_references(doc),
        "",
        *_sequences(doc),
        "",
        END,
    ]
    return "\n".join(lines)


def updated(text: str) -> str:
    """`text` (a README) with the part between the markers regenerated."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} section")
    return text[:start] + reference() + text[end + len(END) :]


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    new = updated(current)
    if "--check" in argv:
        if new != current:
            print("README.md's spec reference is out of date: python -m shotbuild.spec.docs")
            return 1
        return 0
    if new != current:
        README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
