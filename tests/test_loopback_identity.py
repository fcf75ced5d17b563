"""Every loopback origin (127.0.0.1, localhost, ::1, any port) is one identity in a
shot's key, apart from real origins; a lock built before that stays up to date. One
rule (`keys.accepted_keys`) says which records are a shot's: the planner, the lock
check and pick all ask it."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_fakes import API_KEY, FakeHeyGen, no_sleep
from test_engine_cli import SPEC

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import BuildOptions, build
from shotbuild.heygen.origin import is_loopback, key_identity
from shotbuild.keys import accepted_keys, key_of
from shotbuild.lockcheck import check_lock
from shotbuild.plan import make_plan
from shotbuild.reasons import Code
from shotbuild.spec import load_spec
from shotbuild.status import ShotStatus
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock, read_lock_file


@pytest.mark.parametrize(
    ("origin", "loopback"),
    [
        ("http://127.0.0.1:8001", True),
        ("http://localhost", True),
        ("https://localhost:9", True),
        ("http://[::1]:5000", True),
        ("http://[::1]", True),
        ("https://api.heygen.com", False),
        ("http://127.0.0.2:80", False),
        ("http://localhost.example.com:8001", False),
        ("http://[::2]:1", False),
        ("preview", False),
    ],
)
def test_loopback_origins_share_one_identity(origin: str, loopback: bool) -> None:
    assert is_loopback(origin) is loopback
    if loopback:
        assert key_identity(origin) == key_identity("http://127.0.0.1:8001") == "loopback"
    else:
        assert key_identity(origin) == origin  # real origins: their keys do not move


def backend(base_url: str, fake: FakeHeyGen, cache: Cache) -> HeyGenBackend:
    return HeyGenBackend(base_url, API_KEY, cache=cache, transport=fake.transport(), sleep=no_sleep)


def build_at(spec_file: Path, base_url: str) -> None:
    with Cache() as cache:
        done = build(
            load_spec(spec_file),
            backend(base_url, FakeHeyGen(), cache),
            BuildOptions(),
            cache=cache,
            sleep=no_sleep,
        )
    assert done.exit_code == 0


def plan_at(spec_file: Path, base_url: str) -> list[tuple[ShotStatus, Code]]:
    with Cache() as cache:
        plan = make_plan(load_spec(spec_file), backend(base_url, FakeHeyGen(), cache), cache)
        assert check_lock(
            load_spec(spec_file), backend(base_url, FakeHeyGen(), cache), cache
        ).ok is (not plan.pending)
    return [(item.status, item.why.code) for item in plan.items]


UP = [(ShotStatus.UP_TO_DATE, Code.MATCHES)] * 2


@pytest.fixture
def spec_file(chdir_tmp: Path) -> Path:
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC)
    return path


def test_an_emulator_on_another_port_changes_no_key(spec_file: Path) -> None:
    build_at(spec_file, "http://127.0.0.1:8001")
    assert plan_at(spec_file, "http://127.0.0.1:8001") == UP
    assert plan_at(spec_file, "http://localhost:9999") == UP
    assert plan_at(spec_file, "http://[::1]:7") == UP
    real = plan_at(spec_file, "https://api.heygen.com")  # an emulator's render is not real
    assert real == [(ShotStatus.CHANGED, Code.ORIGIN_CHANGED)] * 2


def test_a_real_render_never_passes_for_a_loopback_one(spec_file: Path) -> None:
    build_at(spec_file, "https://api.fake-heygen.test")
    assert (
        plan_at(spec_file, "http://127.0.0.1:8001")
        == [(ShotStatus.CHANGED, Code.ORIGIN_CHANGED)] * 2
    )


def test_a_lock_built_when_each_port_was_its_own_identity_stays_up_to_date(
    spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shotbuild.keys

    with monkeypatch.context() as old_main:  # keys as main made them: the origin itself
        old_main.setattr(shotbuild.keys, "key_identity", lambda identity: identity)
        build_at(spec_file, "http://127.0.0.1:8001")
    lock = read_lock(spec_file.with_suffix(".lock"))
    with Cache() as cache:
        plan = make_plan(
            load_spec(spec_file), backend("http://127.0.0.1:8001", FakeHeyGen(), cache), cache
        )
    for item in plan.items:  # the key moved, and the entry is still accepted
        assert lock[item.name].key == key_of("http://127.0.0.1:8001", item.request) != item.key
    assert plan_at(spec_file, "http://127.0.0.1:8001") == UP
    assert plan_at(spec_file, "http://127.0.0.1:8002") == UP
    build_at(spec_file, "http://127.0.0.1:8002")  # a no-op build leaves the lock as it was
    assert read_lock(spec_file.with_suffix(".lock")) == lock
    spec_file.write_text(SPEC.replace("duration: 6", "duration: 7"))
    assert plan_at(spec_file, "http://127.0.0.1:8001")[0] == (
        ShotStatus.CHANGED,
        Code.FIELDS_CHANGED,
    )


def old_main_build(spec_file: Path, base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import shotbuild.keys

    with monkeypatch.context() as old_main:  # keys as main made them: the origin itself
        old_main.setattr(shotbuild.keys, "key_identity", lambda identity: identity)
        build_at(spec_file, base_url)


def test_an_old_loopback_lock_never_passes_for_real_renders(
    spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_main_build(spec_file, "http://127.0.0.1:8001", monkeypatch)
    real = plan_at(spec_file, "https://api.heygen.com")
    assert real == [(ShotStatus.CHANGED, Code.ORIGIN_CHANGED)] * 2


def test_accepted_keys_for_a_real_origin_are_its_own_key_and_the_old_type_name() -> None:
    request = {"type": "avatar_shots", "prompt": "p", "avatar_id": ["a"]}
    real = "https://api.heygen.com"
    assert accepted_keys(real, request, "avatar_shots") == (key_of(real, request),)
    old_name = {**request, "type": "cinematic_avatar"}
    both = accepted_keys(real, request, "cinematic_avatar", "http://127.0.0.1:1")
    assert both == (key_of(real, request), key_of(real, old_name))  # no loopback key
    at_loopback = accepted_keys("http://localhost:2", request, "cinematic_avatar", "http://[::1]:3")
    assert at_loopback == (
        key_of("loopback", request),
        key_of("loopback", old_name),
        key_of("http://[::1]:3", request),
        key_of("http://[::1]:3", old_name),
    )


TYPED = SPEC.replace("    duration: 6\n", "    duration: 6\n    type: cinematic_avatar\n")


def test_a_result_only_in_the_cache_under_the_old_type_name_key_is_restored(
    spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shotbuild.request

    spec_file.write_text(TYPED)
    with monkeypatch.context() as old:  # keyed as before both names shared one key
        old.setattr(shotbuild.request, "key_type_name", lambda api_type: api_type)
        build_at(spec_file, "https://api.fake-heygen.test")
    spec_file.with_suffix(".lock").unlink()  # only the local cache still knows it
    (spec_file.parent / "build" / "office-walk.mp4").unlink()
    fake = FakeHeyGen()
    with Cache() as cache:
        spec = load_spec(spec_file)
        at = backend("https://api.fake-heygen.test", fake, cache)
        plan = make_plan(spec, at, cache)
        status = {item.name: (item.status, item.why.code) for item in plan.items}
        assert status["office-walk"] == (ShotStatus.RESTORE, Code.RESTORE)
        done = build(spec, at, BuildOptions(), cache=cache, sleep=no_sleep)
    assert done.exit_code == 0 and "office-walk" in done.restored and fake.creates == 0
    assert plan_at(spec_file, "https://api.fake-heygen.test")[0] == UP[0]


def test_lock_check_and_pick_accept_an_adopted_entry(
    spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.picking import current_takes, list_takes

    old_main_build(spec_file, "http://127.0.0.1:8001", monkeypatch)
    with Cache() as cache:
        spec = load_spec(spec_file)
        at = backend("http://127.0.0.1:8002", FakeHeyGen(), cache)
        assert check_lock(spec, at, cache).ok
        assert current_takes(spec, at, cache, "demo").numbers == [1]
        assert all(row.current for row in list_takes(spec, at, cache))


def test_a_reroll_of_an_adopted_shot_keeps_its_takes_under_the_lock_key(
    spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.picking import list_takes

    old_main_build(spec_file, "http://127.0.0.1:8001", monkeypatch)
    before = read_lock_file(spec_file.with_suffix(".lock")).shots["demo"]
    with Cache() as cache:
        spec = load_spec(spec_file)
        fake = FakeHeyGen()
        at = backend("http://127.0.0.1:8002", fake, cache)
        options = BuildOptions(reroll=("demo",), pick_rerolled=True)
        assert build(spec, at, options, cache=cache, sleep=no_sleep).exit_code == 0
        assert fake.creates == 1
        after = read_lock_file(spec_file.with_suffix(".lock")).shots["demo"]
        assert after.key == before.key and after.numbers == [1, 2] and after.pick == 2
        assert after.takes[1] == before.takes[1]  # take 1 kept
        rows = list_takes(spec, at, cache, ("demo",))
        assert [(r.take, r.picked, r.current) for r in rows] == [(1, False, True), (2, True, True)]
    assert plan_at(spec_file, "http://127.0.0.1:8003") == UP
