"""Restoring from shots.lock on a machine that has only the lock: the API's copy,
the remote cache, a render HeyGen forgot (404) and --rerender-missing, a lock whose
sha256 does not match, and what a restore shares with the remote cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_fakes import FakeHeyGen, heygen_backend, make_shot, make_spec

from shotbuild.build import BuildOptions, BuildResult, build
from shotbuild.build import crash as build_module
from shotbuild.errors import ShotbuildError
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache
from shotbuild.store.lock import LockEntry, read_lock, write_lock
from shotbuild.store.remote import RemoteCache


class Messages:
    """A reporter that keeps the free-text messages."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def shot(self, name: str, state: str, detail: str = "") -> None:
        return None

    def message(self, text: str) -> None:
        self.lines.append(text)


def started(fake: FakeHeyGen) -> int:
    """Jobs ever started (paid for), including ones the API has since forgotten."""
    return len(fake.by_idempotency_key)


async def _no_sleep(seconds: float) -> None:
    return None


class Machine:
    """One clone: its own folder, cache, and the one fake API everyone shares."""

    def __init__(self, folder: Path, fake: FakeHeyGen) -> None:
        self.folder, self.fake = folder, fake
        folder.mkdir(parents=True, exist_ok=True)
        self.cache = Cache(folder / "cache")
        self.messages = Messages()

    @property
    def spec(self) -> Spec:
        shots = [make_shot(f"s{i}", f"Prompt {i}.", duration=4 + i) for i in range(3)]
        return make_spec(self.folder, *shots)

    def build(self, remote: RemoteCache | None = None, **options: object) -> BuildResult:
        backend = heygen_backend(self.fake, self.cache)
        opts = BuildOptions(**options)  # type: ignore[arg-type]
        return build(
            self.spec,
            backend,
            opts,
            cache=self.cache,
            sleep=_no_sleep,
            remote=remote,
            reporter=self.messages,
        )

    def clone_to(self, folder: Path) -> Machine:
        """A fresh clone: the spec and the lock, no build folder, an empty cache."""
        other = Machine(folder, self.fake)
        shutil.copy(self.spec.lock_path, other.spec.lock_path)
        return other

    def output(self, name: str) -> bytes:
        return (self.folder / "build" / f"{name}.mp4").read_bytes()


@pytest.fixture
def alice(tmp_path: Path) -> Machine:
    machine = Machine(tmp_path / "alice", FakeHeyGen())
    assert len(machine.build().built) == 3
    return machine


def test_the_lock_alone_restores_every_output_with_zero_creates(
    alice: Machine, tmp_path: Path
) -> None:
    bob = alice.clone_to(tmp_path / "bob")
    downloads = alice.fake.downloads
    result = bob.build()
    assert sorted(result.restored) == ["s0", "s1", "s2"] and result.built == []
    assert started(alice.fake) == 3 and alice.fake.downloads == downloads + 3
    assert all(bob.output(f"s{i}") == alice.output(f"s{i}") for i in range(3))
    assert read_lock(bob.spec.lock_path) == read_lock(alice.spec.lock_path)


def test_a_render_heygen_forgot_fails_naming_the_flag_and_the_rest_go_on(
    alice: Machine, tmp_path: Path
) -> None:
    locked = read_lock(alice.spec.lock_path)
    del alice.fake.jobs[locked["s1"].video_id]
    bob = alice.clone_to(tmp_path / "bob")
    result = bob.build(keep_going=True)
    assert sorted(result.restored) == ["s0", "s2"] and started(alice.fake) == 3
    [(name, message)] = result.failed
    assert name == "s1" and "\n" not in message
    assert f"HeyGen no longer has the locked render {locked['s1'].video_id} (404)" in message
    assert "`rerender_missing=True` renders it again" in message
    assert "--" not in message  # the Python API names its keyword, not the CLI flag
    assert not (bob.folder / "build" / "s1.mp4").exists()
    assert read_lock(bob.spec.lock_path)["s1"] == locked["s1"]  # the approved entry stays
    # allowed: one new render, said so, and the lock records the new video
    again = bob.build(rerender_missing=True)
    assert again.built == ["s1"] and again.failed == [] and started(alice.fake) == 4
    assert any("s1: HeyGen no longer has" in line and "rendering it again" in line
               for line in bob.messages.lines)  # fmt: skip
    new = read_lock(bob.spec.lock_path)["s1"]
    assert new.key == locked["s1"].key and new.video_id != locked["s1"].video_id
    assert bob.build().up_to_date == ["s0", "s1", "s2"]


def test_a_forgotten_render_comes_from_the_remote_cache_without_asking_for_a_render(
    alice: Machine, tmp_path: Path
) -> None:
    shared = RemoteCache.from_url((tmp_path / "shared").as_uri(), "readwrite")
    carol = alice.clone_to(tmp_path / "carol")
    assert sorted(carol.build(remote=shared).restored) == ["s0", "s1", "s2"]  # shares them
    alice.fake.jobs.clear()  # HeyGen has forgotten every render
    bob = alice.clone_to(tmp_path / "bob")
    status_calls = alice.fake.status_requests
    result = bob.build(remote=RemoteCache.from_url((tmp_path / "shared").as_uri(), "read"))
    assert sorted(result.restored) == ["s0", "s1", "s2"] and result.failed == []
    assert started(alice.fake) == 3 and alice.fake.status_requests == status_calls
    assert all(bob.output(f"s{i}") == alice.output(f"s{i}") for i in range(3))


def test_without_the_remote_copy_the_message_says_where_it_looked(
    alice: Machine, tmp_path: Path
) -> None:
    alice.fake.jobs.clear()
    bob = alice.clone_to(tmp_path / "bob")
    empty = RemoteCache.from_url((tmp_path / "empty").as_uri(), "read")
    result = bob.build(remote=empty, keep_going=True)
    assert len(result.failed) == 3
    assert all("(404) nor in the remote cache;" in message for _, message in result.failed)
    assert (
        "(404) and no remote cache is set;"
        in alice.clone_to(tmp_path / "dan").build(keep_going=True).failed[0][1]
    )


def test_rerender_missing_respects_max_seconds(alice: Machine, tmp_path: Path) -> None:
    alice.fake.jobs.clear()
    bob = alice.clone_to(tmp_path / "bob")
    result = bob.build(rerender_missing=True, max_seconds=9, keep_going=True)
    # s0 (4 s) and s1 (5 s) fit in 9 s; s2 (6 s) would go over
    assert sorted(result.built) == ["s0", "s1"] and started(alice.fake) == 5
    assert [name for name, _ in result.failed] == ["s2"]
    assert "over `max_seconds`" in result.failed[0][1]


def test_a_killed_rerender_is_resumed_not_paid_twice(
    alice: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crash(Exception):
        pass

    def crash(name: str) -> None:
        if name == "after-create":
            raise Crash(name)

    alice.fake.jobs.clear()
    bob = alice.clone_to(tmp_path / "bob")
    monkeypatch.setattr(build_module, "crash_point", crash)
    with pytest.raises(Crash):
        bob.build(rerender_missing=True, only=("s0",))
    monkeypatch.undo()
    assert started(alice.fake) == 4
    result = bob.build(rerender_missing=True, only=("s0",))
    assert result.built == ["s0"] and started(alice.fake) == 4


def test_a_download_that_does_not_match_the_lock_is_an_error(
    alice: Machine, tmp_path: Path
) -> None:
    bob = alice.clone_to(tmp_path / "bob")
    lock = read_lock(bob.spec.lock_path)
    entry = lock["s0"].to_json()
    lock["s0"] = LockEntry(**{**entry, "sha256": "0" * 64})
    write_lock(bob.spec.lock_path, lock)
    result = bob.build(keep_going=True)
    assert sorted(result.restored) == ["s1", "s2"] and started(alice.fake) == 3
    [(name, message)] = result.failed
    assert name == "s0" and "does not match shots.lock" in message
    assert not (bob.folder / "build" / "s0.mp4").exists()
    assert read_lock(bob.spec.lock_path)["s0"].sha256 == "0" * 64  # never silently replaced
    assert bob.build(keep_going=True).failed[0][0] == "s0"  # and not accepted next time either


def test_restores_from_the_api_are_shared_unless_the_remote_cache_is_read_only(
    alice: Machine, tmp_path: Path
) -> None:
    url = (tmp_path / "shared").as_uri()
    reader = alice.clone_to(tmp_path / "laptop")
    assert len(reader.build(remote=RemoteCache.from_url(url, "read")).restored) == 3
    assert not (tmp_path / "shared").exists()  # read mode wrote nothing
    writer = alice.clone_to(tmp_path / "ci")
    assert len(writer.build(remote=RemoteCache.from_url(url, "readwrite")).restored) == 3
    blobs = sorted(p.name for p in (tmp_path / "shared" / "blobs").rglob("*") if p.is_file())
    assert blobs == sorted(e.sha256 for e in read_lock(alice.spec.lock_path).values())


def test_a_read_only_remote_cache_is_never_written_by_a_render(tmp_path: Path) -> None:
    laptop = Machine(tmp_path / "laptop", FakeHeyGen())
    remote = RemoteCache.from_url((tmp_path / "shared").as_uri(), "read")
    assert len(laptop.build(remote=remote).built) == 3
    assert not (tmp_path / "shared").exists()


def test_the_python_api_takes_the_remote_cache_and_rerender_missing(
    alice: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shotbuild.api as sb

    monkeypatch.chdir(alice.folder)
    shared = tmp_path / "shared"
    result = sb.build(alice.spec, backend="preview", remote_cache=shared.as_uri())
    assert len(result.built) == 3 and not shared.exists()  # previews never use it
    (alice.folder / "shotbuild.toml").write_text('remote_cache_mode = "sometimes"\n')
    with pytest.raises(ShotbuildError, match=r"shotbuild\.toml: remote_cache_mode 'sometimes'"):
        sb.build(alice.spec, backend="preview", rerender_missing=True)


def test_a_restore_from_the_local_cache_is_shared_too(alice: Machine, tmp_path: Path) -> None:
    for output in (alice.folder / "build").glob("*.mp4"):
        output.unlink()
    remote = RemoteCache.from_url((tmp_path / "shared").as_uri(), "readwrite")
    downloads = alice.fake.downloads
    assert len(alice.build(remote=remote).restored) == 3 and alice.fake.downloads == downloads
    bob = alice.clone_to(tmp_path / "bob")
    status_calls = alice.fake.status_requests
    assert len(bob.build(remote=remote).restored) == 3
    assert alice.fake.status_requests == status_calls and alice.fake.downloads == downloads
