"""The remote cache over file://: two local folders stand for two machines sharing
one remote folder; concurrent writers from threads and processes."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from shotbuild.errors import MissingExtra
from shotbuild.store.lock import LockEntry
from shotbuild.store.remote import RemoteCache, RemoteCacheConfigError, RemoteCacheError

KEY = "ab" + "1" * 62


def render(folder: Path, data: bytes, key: str = KEY, video_id: str = "v1") -> LockEntry:
    """A finished render on one machine: its mp4 in `folder` and its lock entry."""
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    (folder / f"{sha}.mp4").write_bytes(data)
    return LockEntry(
        key=key,
        video_id=video_id,
        sha256=sha,
        size=len(data),
        duration=10.0,
        origin="https://api.heygen.com",
        built_at="2026-11-23T20:00:00Z",
    )


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def remote_dir(tmp_path: Path) -> Path:
    return tmp_path / "remote"


def test_put_on_one_machine_get_on_another(tmp_path: Path, remote_dir: Path) -> None:
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    entry = render(machine_a, b"the approved take" * 1000)
    a = RemoteCache.from_url(remote_dir.as_uri(), "readwrite")
    a.push(KEY, entry, machine_a / f"{entry.sha256}.mp4")

    b = RemoteCache.from_url(remote_dir.as_uri())
    dest = machine_b / "build" / "shot.mp4"
    assert b.get_result(KEY) == entry
    assert b.has_blob(entry.sha256)
    assert b.pull(KEY, dest) == entry
    assert dest.read_bytes() == b"the approved take" * 1000
    sha = entry.sha256
    assert files(remote_dir) == [f"blobs/{sha[:2]}/{sha}", f"results/ab/{KEY}.json"]
    assert json.loads((remote_dir / f"results/ab/{KEY}.json").read_text()) == entry.to_json()
    assert files(machine_b) == ["build/shot.mp4"]


def test_misses(tmp_path: Path, remote_dir: Path) -> None:
    cache = RemoteCache.from_url(remote_dir.as_uri())
    assert cache.get_result(KEY) is None
    assert not cache.has_blob("0" * 64)
    assert not cache.fetch_blob("0" * 64, tmp_path / "out.mp4")
    assert cache.pull(KEY, tmp_path / "out.mp4") is None
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("mode", ["read", "readwrite"])
def test_a_corrupt_blob_is_refused(
    tmp_path: Path, remote_dir: Path, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    entry = render(tmp_path / "a", b"good bytes")
    src = tmp_path / "a" / f"{entry.sha256}.mp4"
    RemoteCache.from_url(remote_dir.as_uri(), "readwrite").push(KEY, entry, src)
    blob = remote_dir / "blobs" / entry.sha256[:2] / entry.sha256
    blob.write_bytes(b"evil bytes")

    cache = RemoteCache.from_url(remote_dir.as_uri(), mode)
    dest = tmp_path / "b" / "shot.mp4"
    dest.parent.mkdir()
    dest.write_bytes(b"what was there")
    with caplog.at_level(logging.WARNING, logger="shotbuild.store.remote"):
        assert not cache.fetch_blob(entry.sha256, dest)
    assert dest.read_bytes() == b"what was there"
    assert files(dest.parent) == ["shot.mp4"]  # no temporary file left behind
    assert "is damaged" in caplog.text and entry.sha256 in caplog.text
    if mode == "read":  # a reader leaves the store alone
        assert "not used" in caplog.text and blob.read_bytes() == b"evil bytes"
        assert cache.pull(KEY, dest) is None
        return
    # A writer removes it, so the next upload repairs the store.
    assert "removed, so the next upload replaces it" in caplog.text and not blob.exists()
    assert cache.put_blob(entry.sha256, src)
    assert cache.pull(KEY, dest) == entry and dest.read_bytes() == b"good bytes"


@pytest.mark.parametrize(
    "text",
    [b"{not json", b'{"key": 1}', json.dumps({"other": "shape"}).encode(), b"", b"\xff\xfe"],
)
def test_a_damaged_result_is_a_miss(
    remote_dir: Path, caplog: pytest.LogCaptureFixture, text: bytes
) -> None:
    path = remote_dir / "results" / "ab" / f"{KEY}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(text)
    with caplog.at_level(logging.WARNING, logger="shotbuild.store.remote"):
        assert RemoteCache.from_url(remote_dir.as_uri()).get_result(KEY) is None
    assert "is damaged" in caplog.text and "restore it" not in caplog.text
    assert path.read_bytes() == text


def test_a_result_filed_under_another_key_is_a_miss_and_a_writer_repairs_it(
    tmp_path: Path, remote_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other, mine = render(tmp_path, b"x", key="cd" + "2" * 62), render(tmp_path, b"y")
    path = remote_dir / "results" / "ab" / f"{KEY}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(other.to_json()))
    assert RemoteCache.from_url(remote_dir.as_uri()).get_result(KEY) is None
    assert "it records key cd2222222222" in caplog.text and path.exists()
    writer = RemoteCache.from_url(remote_dir.as_uri(), "readwrite")
    assert writer.get_result(KEY) is None and not path.exists()
    assert writer.put_result(KEY, mine) and writer.get_result(KEY) == mine


def test_results_are_immutable(tmp_path: Path, remote_dir: Path) -> None:
    cache = RemoteCache.from_url(remote_dir.as_uri(), "readwrite")
    first, second = render(tmp_path, b"1", video_id="v1"), render(tmp_path, b"2", video_id="v2")
    assert cache.put_result(KEY, first)
    assert not cache.put_result(KEY, second)
    assert cache.get_result(KEY) == first
    with pytest.raises(ValueError, match="not"):
        cache.put_result("cd" + "2" * 62, first)


def test_read_mode_writes_nothing(tmp_path: Path, remote_dir: Path) -> None:
    entry = render(tmp_path, b"bytes")
    cache = RemoteCache.from_url(remote_dir.as_uri(), "read")
    assert not cache.writable
    assert not cache.put_blob(entry.sha256, tmp_path / f"{entry.sha256}.mp4")
    assert not cache.put_result(KEY, entry)
    cache.push(KEY, entry, tmp_path / f"{entry.sha256}.mp4")
    assert not remote_dir.exists()


def test_a_blob_that_does_not_match_its_name_is_not_uploaded(
    tmp_path: Path, remote_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "shot.mp4"
    src.write_bytes(b"these bytes")
    cache = RemoteCache.from_url(remote_dir.as_uri(), "readwrite")
    with caplog.at_level(logging.WARNING, logger="shotbuild.store.remote"):
        assert not cache.put_blob("0" * 64, src)
    assert "not uploaded" in caplog.text
    assert files(remote_dir) == []


def test_names_must_be_sha256_hex(tmp_path: Path, remote_dir: Path) -> None:
    cache = RemoteCache.from_url(remote_dir.as_uri())
    for bad in ("../../etc/passwd", "AB" + "1" * 62, "ab"):
        with pytest.raises(ValueError, match="not a sha256"):
            cache.get_result(bad)
        with pytest.raises(ValueError, match="not a sha256"):
            cache.fetch_blob(bad, tmp_path / "x")


def test_a_store_fault_is_one_error_then_the_cache_is_off(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the remote folder should be")
    entry = render(tmp_path / "a", b"bytes")
    src = tmp_path / "a" / f"{entry.sha256}.mp4"
    cache = RemoteCache.from_url((not_a_folder / "remote").as_uri(), "readwrite")

    with pytest.raises(RemoteCacheError, match=r"cannot read result ab1111111111 .*Error") as e:
        cache.get_result(KEY)
    assert "\n" not in str(e.value) and "going on without it for this run" in str(e.value)
    # Off for the rest of the run: misses and skipped writes, no more errors.
    assert cache.get_result(KEY) is None
    assert not cache.has_blob(entry.sha256)
    assert not cache.fetch_blob(entry.sha256, tmp_path / "out.mp4")
    assert not cache.put_blob(entry.sha256, src)
    cache.push(KEY, entry, src)
    assert not cache.writable


def test_a_write_fault_turns_off_writes_only(tmp_path: Path, remote_dir: Path) -> None:
    entry = render(tmp_path / "a", b"bytes")
    src = tmp_path / "a" / f"{entry.sha256}.mp4"
    cache = RemoteCache.from_url(remote_dir.as_uri(), "readwrite")
    remote_dir.mkdir()
    (remote_dir / "tmp").write_text("a file where the upload folder should be")
    with pytest.raises(RemoteCacheError, match="cannot write blob"):
        cache.put_blob(entry.sha256, src)
    assert not cache.writable
    assert not cache.put_result(KEY, entry)
    assert cache.get_result(KEY) is None  # reads still go to the store
    assert files(remote_dir) == ["tmp"]


def test_concurrent_writers_never_expose_a_partial_object(tmp_path: Path, remote_dir: Path) -> None:
    data = bytes(range(256)) * 16 * 1024  # 4 MiB, so writes overlap
    sha = hashlib.sha256(data).hexdigest()
    url = remote_dir.as_uri()
    blob = remote_dir / "blobs" / sha[:2] / sha
    bad: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # a reader on a third machine, looking all the while
        while not stop.is_set():
            if blob.exists() and hashlib.sha256(blob.read_bytes()).hexdigest() != sha:
                bad.append("partial blob seen")

    def write(i: int) -> None:
        entry = render(tmp_path / f"machine-{i}", data, video_id=f"v{i}")
        RemoteCache.from_url(url, "readwrite").push(
            KEY, entry, tmp_path / f"machine-{i}" / f"{sha}.mp4"
        )

    script = (
        "import sys; from pathlib import Path; from shotbuild.store.lock import LockEntry;"
        " from shotbuild.store.remote import RemoteCache;"
        " c = RemoteCache.from_url(sys.argv[1], 'readwrite');"
        " e = LockEntry(sys.argv[2], 'p' + sys.argv[5], sys.argv[3], int(sys.argv[4]), 10.0,"
        " 'https://api.heygen.com', '2026-11-23T20:00:00Z');"
        " c.push(e.key, e, Path(sys.argv[6]))"
    )
    src = tmp_path / "proc.mp4"
    src.write_bytes(data)
    watcher = threading.Thread(target=watch)
    watcher.start()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, KEY, sha, str(len(data)), str(i), str(src)]
        )
        for i in range(3)
    ]
    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    stop.set()
    watcher.join()

    assert bad == []
    assert files(remote_dir) == [f"blobs/{sha[:2]}/{sha}", f"results/ab/{KEY}.json"]
    dest = tmp_path / "reader" / "shot.mp4"
    entry = RemoteCache.from_url(url).pull(KEY, dest)
    assert entry is not None and entry.sha256 == sha and dest.read_bytes() == data


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RemoteCacheConfigError, match="mode 'rw' is not one of"):
        RemoteCache.from_url("file:///tmp/x", "rw")
    with pytest.raises(RemoteCacheConfigError, match=r"nosuchproto://bucket: .*use a file://"):
        RemoteCache.from_url("nosuchproto://bucket")
    with pytest.raises(MissingExtra, match=r"pip install 'shotbuild\[gcs\]'"):
        RemoteCache.from_url("gs://bucket/cache")
    with pytest.raises(MissingExtra, match=r"pip install 'shotbuild\[azure\]'"):
        RemoteCache.from_url("az://container/cache")
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(MissingExtra, match=r"remote cache needs .*shotbuild\[remote\]"):
        RemoteCache.from_url("file:///tmp/x")


def test_credentials_in_the_url_are_never_shown(tmp_path: Path) -> None:
    with pytest.raises(RemoteCacheConfigError) as e:
        RemoteCache.from_url("nosuchproto://user:s3cret@host/path")
    assert "s3cret" not in str(e.value)
