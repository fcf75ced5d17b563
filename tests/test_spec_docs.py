"""README's spec reference is generated from the schema and must not drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotbuild.spec import docs, schema

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_reference_matches_the_schema() -> None:
    text = README.read_text(encoding="utf-8")
    assert docs.updated(text) == text, "run: python -m shotbuild.spec.docs"


def test_every_field_is_in_the_reference() -> None:
    generated = docs.reference()
    doc = schema.schema()
    names = [*doc["properties"], *doc["$defs"]["shot"]["properties"]]
    for ref in ("urlReference", "assetReference", "fileReference", "base64Reference"):
        names += doc["$defs"][ref]["properties"]
    for name in names:
        assert f"`{name}`" in generated, name


def test_check_reports_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n\n{docs.START}\nold text\n{docs.END}\n\n## Next\n", encoding="utf-8")
    monkeypatch.setattr(docs, "README", stale)
    assert docs.main(["--check"]) == 1
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0
    text = stale.read_text(encoding="utf-8")
    assert "old text" not in text and text.endswith(f"{docs.END}\n\n## Next\n")


def test_a_readme_without_markers_is_an_error() -> None:
    with pytest.raises(ValueError, match="spec-reference:start"):
        docs.updated("# no markers\n")


def test_the_readme_example_is_a_valid_spec(tmp_path: Path) -> None:
    from shotbuild.spec import load_spec

    section = README.read_text(encoding="utf-8").split("## Writing a spec", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "lighting.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "shots.yaml").write_text(example, encoding="utf-8")
    spec = load_spec(tmp_path / "shots.yaml")
    assert [s.name for s in spec.shots] == ["office-walk", "social-cut"]
    assert spec.shots[1].aspect_ratio == "9:16" and spec.shots[1].duration is None
