from __future__ import annotations

import json
from pathlib import Path

import pytest

from shotbuild.store.lock import LockEntry, LockError, dumps_lock, loads_lock, read_lock, write_lock


def entry(key: str = "k" * 64, video_id: str = "v1") -> LockEntry:
    return LockEntry(
        key=key,
        video_id=video_id,
        sha256="s" * 64,
        size=1234,
        duration=10.0,
        origin="https://api.heygen.com",
        built_at="2026-11-23T20:00:00Z",
    )


def test_round_trip_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "shots.lock"
    entries = {"b-shot": entry(video_id="vb"), "a-shot": entry(video_id="va")}
    write_lock(path, entries)
    text = path.read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.index('"a-shot"') < text.index('"b-shot"')
    assert json.loads(text)["format_version"] == 1
    assert "  " in text.splitlines()[1] and not text.splitlines()[1].startswith("   ")
    assert read_lock(path) == entries
    assert dumps_lock(read_lock(path)) == text


def test_missing_lock_is_empty(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "shots.lock") == {}


def test_conflict_markers_are_named() -> None:
    text = dumps_lock({"a": entry()})
    conflicted = "<<<<<<< HEAD\n" + text + "=======\n" + text + ">>>>>>> branch\n"
    with pytest.raises(LockError, match=r"shots.lock:1:1: git conflict markers"):
        loads_lock(conflicted)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "not a shotbuild lock"),
        ('{"format_version": 99, "shots": {}}', "format_version 99"),
        ('{"format_version": 1, "shots": {"a": {"key": 1}}}', "entry for shot 'a' is damaged"),
    ],
)
def test_damaged_locks_say_how_to_recover(text: str, message: str) -> None:
    with pytest.raises(LockError, match=message):
        loads_lock(text)


def test_failed_write_leaves_old_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shots.lock"
    write_lock(path, {"a": entry()})
    before = path.read_text()

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(OSError, match="disk full"):
        write_lock(path, {"b": entry()})
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["shots.lock"]
