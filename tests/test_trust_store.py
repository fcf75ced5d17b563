"""Hostile remote results, cache names and a full disk: each is a miss or a
one-line error naming the path, never a traceback or a file outside the cache."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbuild import cli, fs
from shotbuild.store.cache import Cache, CacheError
from shotbuild.store.lock import LockEntry
from shotbuild.store.remote import RemoteCache
from shotbuild.untrusted import BadValue

KEY = "1" * 64
VIDEO = b"the mp4 bytes"
SHA = hashlib.sha256(VIDEO).hexdigest()


def good(**over: Any) -> dict[str, Any]:
    base = {
        "key": KEY,
        "video_id": "vid_1",
        "sha256": SHA,
        "size": len(VIDEO),
        "duration": 4.0,
        "origin": "https://api.heygen.com",
        "built_at": "2026-12-01T09:30:00Z",
    }
    return {**base, **over}


@pytest.fixture
def remote(tmp_path: Path) -> tuple[RemoteCache, Path]:
    root = tmp_path / "remote"
    cache = RemoteCache.from_url(f"file://{root}", "read")
    (root / "blobs" / SHA[:2]).mkdir(parents=True)
    (root / "blobs" / SHA[:2] / SHA).write_bytes(VIDEO)
    (root / "results" / KEY[:2]).mkdir(parents=True)
    return cache, root / "results" / KEY[:2] / f"{KEY}.json"


HOSTILE_RESULTS = [
    json.dumps(good(sha256="/proc/self/environ")).encode(),
    json.dumps(good(sha256="../../../../etc/passwd")).encode(),
    json.dumps(good(video_id="v" * 100_000)).encode(),
    json.dumps(good(size=-1)).encode(),
    json.dumps(good(duration="inf")).encode(),
    json.dumps(good(origin="file:///etc")).encode(),
    json.dumps(good(built_at="\x1b]0;x\x07")).encode(),
    json.dumps(good(key="2" * 64)).encode(),
    json.dumps(good()).replace("4.0", "NaN").encode(),
    json.dumps(good()).replace('"size": 13', '"size": 1e400').encode(),
    b'{"key": "a", "key": "b"}',
    b"[" * 100_000 + b"]" * 100_000,
    json.dumps(good(pad="x" * 100_000)).encode(),
    b"\xff\xfe",
    b"",
]


@pytest.mark.parametrize("data", HOSTILE_RESULTS, ids=range(len(HOSTILE_RESULTS)))
def test_hostile_remote_result_is_a_miss(remote: tuple[RemoteCache, Path], data: bytes) -> None:
    cache, result = remote
    result.write_bytes(data)
    assert cache.get_result(KEY) is None
    assert cache.readable  # a damaged result is not a fault of the store


def test_remote_result_linked_to_dev_zero_is_read_bounded(remote: tuple[RemoteCache, Path]) -> None:
    cache, result = remote
    os.symlink("/dev/zero", result)
    assert cache.get_result(KEY) is None


def test_valid_remote_result_is_used(remote: tuple[RemoteCache, Path], tmp_path: Path) -> None:
    cache, result = remote
    result.write_text(json.dumps(good()))
    entry = cache.pull(KEY, tmp_path / "out.mp4")
    assert entry is not None and (tmp_path / "out.mp4").read_bytes() == VIDEO


def test_remote_result_naming_another_video_than_the_lock_is_not_used(
    remote: tuple[RemoteCache, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache, result = remote
    result.write_text(json.dumps(good(video_id="shot_b_video")))
    with caplog.at_level(logging.WARNING):
        assert cache.pull(KEY, tmp_path / "out.mp4", "shot_a_video") is None
    assert "shots.lock has shot_a_video" in caplog.text
    assert not (tmp_path / "out.mp4").exists()


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_doc = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=15,
)
result_like = st.fixed_dictionaries(
    {}, optional={k: json_leaf | st.just(v) for k, v in good().items()}
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=json_doc | result_like)
def test_any_json_as_a_remote_result_is_a_valid_entry_or_a_miss(
    remote: tuple[RemoteCache, Path], doc: Any
) -> None:
    cache, result = remote
    result.write_text(json.dumps(doc))
    entry = cache.get_result(KEY)
    assert entry is None or entry == LockEntry(**good())


# -- the local cache -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["/proc/self/environ", "../../x", "A" * 64, "", "ab"])
def test_blob_lookup_takes_only_a_64_hex_digest(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadValue, match="64 lowercase hex"):
        Cache(tmp_path).blob_path(name)


def test_cache_result_that_names_a_path_is_dropped(tmp_path: Path) -> None:
    with Cache(tmp_path) as cache:
        cache.index.set(f"result:{KEY}", good(sha256="/proc/self/environ"))
        assert cache.result(KEY) is None
        assert cache.index.get(f"result:{KEY}") is None


class _FailingConnection:
    """A diskcache connection whose statements on the Cache table's rows that start
    with one of `verbs` raise `error` (the index's own settings are read and written)."""

    def __init__(self, con: sqlite3.Connection, verbs: tuple[str, ...], error: Exception):
        self._con, self._verbs, self._error = con, verbs, error

    def execute(self, statement: str, *args: Any) -> Any:
        rows = " Cache" in statement and "Settings" not in statement
        if rows and statement.lstrip().upper().startswith(self._verbs):
            raise self._error
        return self._con.execute(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def fail_index(monkeypatch: pytest.MonkeyPatch, verbs: tuple[str, ...], error: Exception) -> None:
    """Every connection to a diskcache index fails `verbs` on its rows with `error`:
    diskcache's own get and set fail, and so do the index's one-statement ones."""
    import diskcache

    real = diskcache.Cache._con

    def con(self: Any) -> _FailingConnection:
        return _FailingConnection(real.fget(self), verbs, error)

    monkeypatch.setattr(diskcache.Cache, "_con", property(con))


FULL = sqlite3.OperationalError("database or disk is full")


def test_full_disk_under_the_cache_index_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Cache(tmp_path) as cache:
        cache.index.set("request:other", {"b": 2})  # opened and written before the disk fills
        fail_index(monkeypatch, ("INSERT", "UPDATE"), FULL)
        with pytest.raises(fs.DiskFull) as caught:
            cache.put_request(KEY, {"a": 1})
    assert str(tmp_path / "index") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_damaged_cache_index_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Cache(tmp_path) as cache:
        cache.index.set(f"job:{KEY}", {"key": KEY})
        fail_index(monkeypatch, ("SELECT",), sqlite3.DatabaseError("file is not a database"))
        with pytest.raises(CacheError, match="remove that folder"):
            cache.job(KEY)


def test_full_disk_on_a_write_names_the_path_and_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "shots.lock"
    target.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(fs.DiskFull, match="no space left") as caught:
        fs.atomic_write_text(target, "new\n")
    assert str(target) in str(caught.value)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shots.lock"]


def test_full_disk_during_a_command_is_exit_1_not_a_crash(
    chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (chdir_tmp / "shots.yaml").write_text(
        "version: 1\nshots:\n  a:\n    prompt: p\n    avatar_id: [l]\n"
        "    references: [{type: file, path: r.png}]\n"
    )
    (chdir_tmp / "r.png").write_bytes(b"png")

    fail_index(monkeypatch, ("INSERT", "UPDATE"), FULL)
    code = cli.main(["build", "--backend", "preview"])  # plan writes nothing; build does
    err = capsys.readouterr().err
    assert code == 1, err
    assert "no space" in err or "disk" in err
    assert "Traceback" not in err
