"""The published schema: valid under its metaschema, documented on every
property, shipped in the package, and in agreement with check-jsonschema on
every case the schema alone decides."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shotbuild.spec import schema
from shotbuild.spec.fastcheck import compile_schema
from shotbuild.spec.yamlpos import parse

REPO = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPO / "schemas" / "shots.schema.json"


def check_jsonschema() -> list[str]:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("check-jsonschema is not installed: pip install -e '.[test]'")
    return [exe]


def test_schema_passes_its_metaschema() -> None:
    done = subprocess.run(
        [*check_jsonschema(), "--check-metaschema", str(SCHEMA_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_identity() -> None:
    loaded = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert loaded["$id"].endswith("/shots.schema.json")
    assert schema.schema() == loaded
    assert schema.schema_path().resolve() == SCHEMA_FILE


def properties_of(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every (path, subschema) declared under `properties`/`patternProperties`."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for keyword in ("properties", "patternProperties"):
            for name, sub in node.get(keyword, {}).items():
                found.append((f"{where}/{name}", sub))
        for key, value in node.items():
            found += properties_of(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += properties_of(value, f"{where}/{i}")
    return found


def test_every_property_has_a_title_and_description() -> None:
    props = properties_of(schema.schema())
    assert len(props) > 20
    for where, sub in props:
        if any(c in where for c in ("/if/", "/then/", "/else/")):
            continue  # conditions of if/then/else that refine declared properties
        assert sub.get("title") and sub.get("description"), where


def test_closed_objects() -> None:
    defs = schema.schema()["$defs"]
    assert schema.schema()["additionalProperties"] is False
    for name in ["shot", "urlReference", "assetReference", "fileReference", "base64Reference"]:
        assert defs[name]["additionalProperties"] is False, name


def test_the_quick_check_covers_the_whole_schema() -> None:
    compile_schema(schema.schema())  # raises Unsupported for an unknown keyword


def test_schema_ships_in_the_wheel(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        shipped = z.read("shotbuild/schemas/shots.schema.json")
    assert json.loads(shipped) == schema.schema()


# name, spec text, valid: cases the schema alone decides (no files, no budget).
SHOT = "{prompt: p, avatar_id: [l]}"
CORPUS: list[tuple[str, str, bool]] = [
    ("minimal", f"shots: {{a: {SHOT}}}", True),
    ("no shots key", "version: 1", False),
    ("empty shots", "shots: {}", True),
    ("version 1", f"version: 1\nshots: {{a: {SHOT}}}", True),
    ("version 2", f"version: 2\nshots: {{a: {SHOT}}}", False),
    ("version string", f"version: '1'\nshots: {{a: {SHOT}}}", False),
    ("build_dir", f"build_dir: out\nshots: {{a: {SHOT}}}", True),
    ("build_dir empty", f"build_dir: ''\nshots: {{a: {SHOT}}}", False),
    ("unknown top key", f"shotz: 1\nshots: {{a: {SHOT}}}", False),
    ("x- key", f"x-base: {{a: 1}}\nshots: {{a: {SHOT}}}", True),
    ("shots a list", "shots: [a]", False),
    ("top a list", "[1, 2]", False),
    ("shot null", "shots: {a: null}", False),
    ("prompt missing", "shots: {a: {avatar_id: [l]}}", False),
    ("prompt in defaults", "defaults: {prompt: p}\nshots: {a: {avatar_id: [l]}}", True),
    ("looks in defaults", "defaults: {avatar_id: [l]}\nshots: {a: {prompt: p}}", True),
    ("looks missing", "shots: {a: {prompt: p}}", False),
    ("prompt empty", "shots: {a: {prompt: '', avatar_id: [l]}}", False),
    ("prompt blank", "shots: {a: {prompt: '   ', avatar_id: [l]}}", False),
    ("prompt 10000", f"shots: {{a: {{prompt: {'x' * 10000}, avatar_id: [l]}}}}", True),
    ("prompt 10001", f"shots: {{a: {{prompt: {'x' * 10001}, avatar_id: [l]}}}}", False),
    ("prompt number", "shots: {a: {prompt: 5, avatar_id: [l]}}", False),
    ("no looks", "shots: {a: {prompt: p, avatar_id: []}}", False),
    ("three looks", "shots: {a: {prompt: p, avatar_id: [a, b, c]}}", True),
    ("four looks", "shots: {a: {prompt: p, avatar_id: [a, b, c, d]}}", False),
    ("same look twice", "shots: {a: {prompt: p, avatar_id: [a, a]}}", False),
    ("look with space", "shots: {a: {prompt: p, avatar_id: ['a b']}}", False),
    ("look a string", "shots: {a: {prompt: p, avatar_id: a}}", False),
    ("aspect 9:16", "shots: {a: {prompt: p, avatar_id: [l], aspect_ratio: '9:16'}}", True),
    ("aspect unquoted", "shots: {a: {prompt: p, avatar_id: [l], aspect_ratio: 1:1}}", True),
    ("aspect 4:3", "shots: {a: {prompt: p, avatar_id: [l], aspect_ratio: '4:3'}}", False),
    ("resolution 1080p", "shots: {a: {prompt: p, avatar_id: [l], resolution: 1080p}}", True),
    ("resolution 4k", "shots: {a: {prompt: p, avatar_id: [l], resolution: 4k}}", False),
    ("duration 4", "shots: {a: {prompt: p, avatar_id: [l], duration: 4}}", True),
    ("duration 15", "shots: {a: {prompt: p, avatar_id: [l], duration: 15}}", True),
    ("duration 3", "shots: {a: {prompt: p, avatar_id: [l], duration: 3}}", False),
    ("duration 16", "shots: {a: {prompt: p, avatar_id: [l], duration: 16}}", False),
    ("duration 5.0", "shots: {a: {prompt: p, avatar_id: [l], duration: 5.0}}", True),
    ("duration 5.5", "shots: {a: {prompt: p, avatar_id: [l], duration: 5.5}}", False),
    ("duration true", "shots: {a: {prompt: p, avatar_id: [l], duration: true}}", False),
    ("auto", "shots: {a: {prompt: p, avatar_id: [l], auto_duration: true}}", True),
    (
        "auto with duration",
        "shots: {a: {prompt: p, avatar_id: [l], auto_duration: true, duration: 5}}",
        False,
    ),
    (
        "auto false with duration",
        "shots: {a: {prompt: p, avatar_id: [l], auto_duration: false, duration: 5}}",
        True,
    ),
    ("enhance", "shots: {a: {prompt: p, avatar_id: [l], enhance_prompt: true}}", True),
    ("enhance string", "shots: {a: {prompt: p, avatar_id: [l], enhance_prompt: 'y'}}", False),
    ("type cinematic", "shots: {a: {prompt: p, avatar_id: [l], type: cinematic_avatar}}", True),
    ("type other", "shots: {a: {prompt: p, avatar_id: [l], type: talking_photo}}", False),
    ("title", "shots: {a: {prompt: p, avatar_id: [l], title: T}}", True),
    ("callback http", "shots: {a: {prompt: p, avatar_id: [l], callback_url: 'http://h.io'}}", True),
    ("callback ftp", "shots: {a: {prompt: p, avatar_id: [l], callback_url: 'ftp://h.io'}}", False),
    ("unknown shot key", "shots: {a: {prompt: p, avatar_id: [l], promt: x}}", False),
    ("name dotted", f"shots: {{v1.2_final-cut: {SHOT}}}", True),
    ("name digit first", f"shots: {{1st: {SHOT}}}", True),
    ("name dash first", f"shots: {{-a: {SHOT}}}", False),
    ("name with space", f"shots: {{'a b': {SHOT}}}", False),
    ("name slash", f"shots: {{'a/b': {SHOT}}}", False),
    ("name trailing newline", f'shots: {{"a\\n": {SHOT}}}', False),
    ("name 100", f"shots: {{{'a' * 100}: {SHOT}}}", True),
    ("name 101", f"shots: {{{'a' * 101}: {SHOT}}}", False),
    ("defaults unknown", f"defaults: {{colour: red}}\nshots: {{a: {SHOT}}}", False),
    ("defaults list", f"defaults: []\nshots: {{a: {SHOT}}}", False),
]
REF = "shots: {{a: {{prompt: p, avatar_id: [l], references: [{ref}]}}}}"
CORPUS += [
    (f"ref {name}", REF.format(ref=ref), valid)
    for name, ref, valid in [
        ("url", "{type: url, url: 'https://c.io/a.mp4'}", True),
        ("url ftp", "{type: url, url: 'ftp://c.io/a.mp4'}", False),
        ("url missing", "{type: url}", False),
        ("url extra key", "{type: url, url: 'https://c.io/a', path: x}", False),
        ("url media", "{type: url, url: 'https://c.io/a', media: video}", True),
        ("media audio", "{type: url, url: 'https://c.io/a', media: audio}", False),
        ("asset", "{type: asset_id, asset_id: ast_1, media: image}", True),
        ("asset empty", "{type: asset_id, asset_id: '', media: image}", False),
        ("file", "{type: file, path: refs/a.jpg}", True),
        ("file no path", "{type: file}", False),
        ("base64", "{type: base64, media_type: image/png, data: aGk=}", True),
        ("base64 text type", "{type: base64, media_type: text/plain, data: aGk=}", False),
        ("base64 no data", "{type: base64, media_type: image/png}", False),
        ("no type", "{url: 'https://c.io/a.mp4'}", False),
        ("bad type", "{type: link, url: 'https://c.io/a.mp4'}", False),
        ("a string", "'https://c.io/a.mp4'", False),
    ]
]


def shotbuild_schema_valid(text: str) -> bool:
    return not schema.errors(parse(text).value)


def test_check_jsonschema_agrees_on_the_corpus(tmp_path: Path) -> None:
    files = {}
    for i, (name, text, _) in enumerate(CORPUS):
        path = tmp_path / f"case{i:03d}.yaml"
        path.write_text(text + "\n", encoding="utf-8")
        files[path.name] = name
    done = subprocess.run(
        [*check_jsonschema(), "-o", "json", "--schemafile", str(SCHEMA_FILE), *sorted(files)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert not report.get("parse_errors"), report["parse_errors"]
    invalid_for_them = {files[e["filename"]] for e in report["errors"]}
    for name, text, valid in CORPUS:
        assert shotbuild_schema_valid(text) is valid, name
        assert (name not in invalid_for_them) is valid, f"check-jsonschema disagrees on {name}"


BOUNDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"]
NUMBERS = st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=3)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["integer", "number", "string"]),
    st.dictionaries(
        st.sampled_from(BOUNDS),
        st.integers(-3, 3),
    ),
    st.none() | st.sampled_from(["\\S", "^a", "b$(?!\\n)"]),
    NUMBERS | st.text(alphabet="ab \n", max_size=4),
)
@example("number", {"minimum": 0}, None, float("nan"))
@example("integer", {"maximum": 2}, None, 2.0)
@example("string", {"maxLength": 1}, "\\S", " ")
def test_a_fused_string_or_number_check_agrees_with_jsonschema(
    kind: str, bounds: dict[str, int], pattern: str | None, value: object
) -> None:
    """fastcheck checks a string's or a number's keywords in one call (_fused), and
    each keyword alone (a schema _fused leaves alone), as jsonschema does."""
    from jsonschema import Draft202012Validator

    words = {k: abs(v) if "Length" in k else v for k, v in bounds.items()}
    if kind != "string":
        words = {k: v for k, v in words.items() if "Length" not in k}
    else:
        words = {k: v for k, v in words.items() if "Length" in k}
    one: dict[str, object] = {"type": kind, **words}
    if kind == "string" and pattern is not None:
        one["pattern"] = pattern
    expected = Draft202012Validator(one).is_valid(value)
    assert compile_schema(one)(value) == expected, one
    assert compile_schema({"allOf": [{"type": kind}, {**one, "type": [kind]}]})(value) == expected
