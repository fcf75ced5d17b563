"""The cache index's one-statement get and set read and write diskcache's own rows:
a cache written by diskcache's get and set (every earlier shotbuild) reads the same,
and diskcache reads what they write, row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import diskcache
import pytest

from shotbuild.store.cache import Cache

COLUMNS = "key, raw, expire_time, access_count, tag, size, mode, filename IS NULL"
VALUES: dict[str, Any] = {
    "job:k": {"key": "k", "state": "intent", "attempt": 1, "submitted_at": None},
    "paid-inputs:k": [1, 2],
    "asset:o:s": "asset-id",  # a string: diskcache keeps it raw
    "stat:/x": [1, 2, 3, "s" * 64],
    "request:big": {"script": "word " * 10_000},  # over 32 KiB: diskcache keeps it in a file
}


def plain_index(where: Path) -> Any:
    """The index as every shotbuild opens it, through diskcache's own methods only."""
    return diskcache.Cache(str(where / "index"), eviction_policy="none", cull_limit=0)


def rows(index: Any) -> list[tuple[Any, ...]]:
    return sorted(index._sql(f"SELECT {COLUMNS} FROM Cache").fetchall())


def settings(index: Any) -> dict[str, Any]:
    return dict(index._sql("SELECT key, value FROM Settings").fetchall())


def test_rows_written_by_diskcache_read_the_same(tmp_path: Path) -> None:
    old = plain_index(tmp_path)
    for name, value in VALUES.items():
        old.set(name, value)
    old.close()
    with Cache(tmp_path) as cache:
        assert cache.index._fast
        for name, value in VALUES.items():
            assert cache.index.get(name) == value
        assert cache.index.get("job:missing") is None
        assert cache.index.get("job:missing", 7) == 7


def test_rows_written_here_are_diskcache_s_own(tmp_path: Path) -> None:
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    index = plain_index(theirs)
    for name, value in VALUES.items():
        index.set(name, value)
    with Cache(ours) as cache:
        for name, value in VALUES.items():
            assert cache.index.set(name, value) is True
    again = plain_index(ours)
    assert rows(again) == rows(index)
    assert settings(again) == settings(index)  # the row count and size kept by triggers
    for name, value in VALUES.items():
        assert again.get(name) == value


def test_a_row_written_again_replaces_it_and_a_file_is_removed(tmp_path: Path) -> None:
    with Cache(tmp_path) as cache:
        cache.index.set("request:big", VALUES["request:big"])
        files = [p for p in (tmp_path / "index").rglob("*.val")]
        assert len(files) == 1
        cache.index.set("request:big", {"script": "short"})  # the filed value's row
        cache.index.set("job:k", {"a": 1})
        cache.index.set("job:k", {"a": 2})
        assert cache.index.get("request:big") == {"script": "short"}
        assert cache.index.get("job:k") == {"a": 2}
        assert not files[0].exists()  # diskcache's set removed the file it replaced
    index = plain_index(tmp_path)
    assert len(index) == 2 and settings(index)["size"] == 0


def test_an_index_that_does_more_on_a_get_or_a_set_is_left_to_diskcache(tmp_path: Path) -> None:
    from shotbuild.store.cache import _plain

    others: list[dict[str, Any]] = [
        {"eviction_policy": "least-recently-used", "cull_limit": 0},
        {"eviction_policy": "none", "cull_limit": 10},
        {"eviction_policy": "none", "cull_limit": 0, "statistics": 1},
    ]
    for n, kw in enumerate(others):
        assert not _plain(diskcache.Cache(str(tmp_path / str(n)), **kw))
    assert _plain(plain_index(tmp_path))


def test_a_value_left_to_diskcache_leaves_the_next_ones_to_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for method in ("get", "set"):
        real = getattr(diskcache.Cache, method)

        def counted(self: Any, *args: Any, _real: Any = real, _m: str = method, **kw: Any) -> Any:
            calls.append(_m)
            return _real(self, *args, **kw)

        monkeypatch.setattr(diskcache.Cache, method, counted)
    with Cache(tmp_path) as cache:
        cache.index.set("asset:o:s", "asset-id")  # a string: diskcache's set
        assert cache.index.get("asset:o:s") == "asset-id"  # raw: read here
        cache.index.set("request:big", VALUES["request:big"])  # a file: diskcache's
        assert cache.index.get("request:big") == VALUES["request:big"]
        assert calls == ["set", "set", "get"]
        for n in range(5):
            cache.index.set(f"job:{n}", {"n": n})
            assert cache.index.get(f"job:{n}") == {"n": n}
        cache.index.set("job:0", {"n": "again"})  # a row written again: updated here
        assert cache.index.get("job:0") == {"n": "again"}
    assert calls == ["set", "set", "get"]
