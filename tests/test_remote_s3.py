"""The remote cache on S3 through s3fs, against moto's server mode: a real S3
protocol endpoint on 127.0.0.1, started and stopped by a fixture (no mock of s3fs)."""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from shotbuild.settings import Settings
from shotbuild.store.lock import LockEntry
from shotbuild.store.remote import RemoteCache, RemoteCacheError

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

KEY = "ab" + "1" * 62


@pytest.fixture
def endpoint(s3_endpoint: str) -> str:
    return s3_endpoint  # moto's server mode, started by the conftest fixture


@pytest.fixture(autouse=True)
def _fake_aws(fake_aws: None) -> None:
    return None


def options(endpoint: str) -> dict[str, Any]:
    # skip_instance_cache: every RemoteCache gets its own client, like a separate machine.
    return {"endpoint_url": endpoint, "skip_instance_cache": True}


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"cache-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**options(endpoint)).mkdir(name)
    return name


def raw(endpoint: str) -> Any:
    return s3fs.S3FileSystem(**options(endpoint))


def render(folder: Path, data: bytes, video_id: str = "v1") -> tuple[LockEntry, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    src = folder / f"{sha}.mp4"
    src.write_bytes(data)
    entry = LockEntry(KEY, video_id, sha, len(data), 10.0, "https://api.heygen.com", "2026-11-23Z")
    return entry, src


def test_put_on_one_machine_get_on_another(tmp_path: Path, endpoint: str, bucket: str) -> None:
    url = f"s3://{bucket}/team/shots"
    entry, src = render(tmp_path / "a", b"approved take" * 10_000)
    RemoteCache.from_url(url, "readwrite", options(endpoint)).push(KEY, entry, src)

    b = RemoteCache.from_url(url, "read", options(endpoint))
    dest = tmp_path / "b" / "build" / "shot.mp4"
    assert b.get_result(KEY) == entry
    assert b.has_blob(entry.sha256)
    assert b.pull(KEY, dest) == entry
    assert dest.read_bytes() == src.read_bytes()
    sha = entry.sha256
    assert sorted(raw(endpoint).find(bucket)) == [
        f"{bucket}/team/shots/blobs/{sha[:2]}/{sha}",
        f"{bucket}/team/shots/results/ab/{KEY}.json",
    ]


def test_a_corrupt_blob_is_refused(tmp_path: Path, endpoint: str, bucket: str) -> None:
    url = f"s3://{bucket}"
    entry, src = render(tmp_path / "a", b"good bytes")
    cache = RemoteCache.from_url(url, "readwrite", options(endpoint))
    cache.push(KEY, entry, src)
    blob = f"{bucket}/blobs/{entry.sha256[:2]}/{entry.sha256}"
    raw(endpoint).pipe_file(blob, b"evil bytes")

    dest = tmp_path / "b" / "shot.mp4"
    assert not RemoteCache.from_url(url, "read", options(endpoint)).fetch_blob(entry.sha256, dest)
    assert raw(endpoint).cat_file(blob) == b"evil bytes"  # a reader leaves it
    assert not cache.fetch_blob(entry.sha256, dest)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []
    assert not raw(endpoint).exists(blob)  # a writer removes it; the next push repairs it
    cache.push(KEY, entry, src)
    assert cache.pull(KEY, dest) == entry and dest.read_bytes() == b"good bytes"


def test_endpoint_from_aws_endpoint_url(
    tmp_path: Path, endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore reads AWS_ENDPOINT_URL itself: no storage_options needed.
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE", f"s3://{bucket}/cache")
    cache = Settings.resolve().remote.open()
    assert cache is not None
    entry, src = render(tmp_path, b"bytes")
    cache.push(KEY, entry, src)
    assert raw(endpoint).exists(f"{bucket}/cache/results/ab/{KEY}.json")


def test_concurrent_writers(tmp_path: Path, endpoint: str, bucket: str) -> None:
    url = f"s3://{bucket}"
    data = bytes(range(256)) * 4096  # 1 MiB
    errors: list[BaseException] = []

    def write(i: int) -> None:
        entry, src = render(tmp_path / f"machine-{i}", data, video_id=f"v{i}")
        try:
            RemoteCache.from_url(url, "readwrite", options(endpoint)).push(KEY, entry, src)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sha = hashlib.sha256(data).hexdigest()
    assert sorted(raw(endpoint).find(bucket)) == [
        f"{bucket}/blobs/{sha[:2]}/{sha}",
        f"{bucket}/results/ab/{KEY}.json",
    ]
    dest = tmp_path / "reader.mp4"
    entry = RemoteCache.from_url(url, "read", options(endpoint)).pull(KEY, dest)
    assert entry is not None and entry.video_id.startswith("v") and dest.read_bytes() == data


def test_an_unreachable_endpoint_degrades(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    storage_options = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        "skip_instance_cache": True,
        "config_kwargs": {"connect_timeout": 1, "read_timeout": 1, "retries": {"max_attempts": 1}},
    }
    cache = RemoteCache.from_url("s3://bucket/cache", "readwrite", storage_options)
    entry, src = render(tmp_path, b"bytes")
    with pytest.raises(RemoteCacheError, match=r"cannot read result .*127\.0\.0\.1") as e:
        cache.get_result(KEY)
    assert "\n" not in str(e.value)
    assert cache.get_result(KEY) is None
    assert not cache.fetch_blob(entry.sha256, tmp_path / "out.mp4")
    assert not cache.put_blob(entry.sha256, src)
    cache.push(KEY, entry, src)


def test_a_missing_bucket_is_never_created(tmp_path: Path, endpoint: str) -> None:
    cache = RemoteCache.from_url("s3://no-such-bucket/cache", "readwrite", options(endpoint))
    entry, src = render(tmp_path, b"bytes")
    assert cache.get_result(KEY) is None
    with pytest.raises(RemoteCacheError, match="cannot write blob"):
        cache.put_blob(entry.sha256, src)
    assert not raw(endpoint).exists("no-such-bucket")
