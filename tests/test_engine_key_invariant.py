"""No shot's key may move: tests/fixtures/keys holds a spec with every field kind and
the keys the code before issue 10 computed for it (shots.lock for an HTTP origin,
keys.json for the preview identity and two origins). Today's code must agree, and a
build from that lock must leave every shot up to date without asking the API.

Two moves are on purpose, and each old key is still accepted (`keys.accepted_keys`):
the shot that says `type: cinematic_avatar` (both names now share one key), and every
key at a loopback origin (issue 15: 127.0.0.1, localhost and ::1 at any port are one
identity, "loopback", so an emulator restarted on another port changes no key)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import build
from shotbuild.heygen.drift import legacy_key_type_names
from shotbuild.keys import accepted_keys, key_of, request_of, sha256_file, shot_keys
from shotbuild.lockcheck import check_lock
from shotbuild.plan import RESTORE, UP_TO_DATE, make_plan
from shotbuild.spec import load_spec
from shotbuild.spec.model import Spec
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock

FIXTURE = Path(__file__).parent / "fixtures" / "keys"
ORIGIN = "http://127.0.0.1:8790"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(FIXTURE, folder)
    return folder


# The one shot whose key moved: it says `type: cinematic_avatar`, which the old code
# keyed under that name; both names now share the key of `avatar_shots`, and the
# planner adopts its old entry (found under the legacy key) instead of paying again.
MOVED = "auto"


def legacy_key(spec: Spec, name: str, identity: str) -> str:
    shot = next(s for s in spec.shots if s.name == name)
    request = request_of(shot, spec.root, sha256_file)
    (old_name,) = legacy_key_type_names(shot.api_type)
    return key_of(identity, {**request, "type": old_name})


def test_every_key_is_what_the_old_code_computed(project: Path) -> None:
    spec = load_spec(project / "shots.yaml")
    recorded = json.loads((project / "keys.json").read_text())
    for identity in ("preview:1", "https://api.heygen.com"):  # real identities: unmoved
        now = {name: key for name, (key, _) in shot_keys(spec, identity, sha256_file).items()}
        moved = now.pop(MOVED)
        old = dict(recorded[identity])
        assert now == {k: v for k, v in old.items() if k != MOVED}, identity
        assert moved != old[MOVED] == legacy_key(spec, MOVED, identity)
    assert len(recorded[ORIGIN]) == len(spec.shots) == 5


def test_loopback_keys_moved_on_purpose_and_the_old_ones_are_accepted(project: Path) -> None:
    spec = load_spec(project / "shots.yaml")
    recorded = json.loads((project / "keys.json").read_text())[ORIGIN]
    now = shot_keys(spec, ORIGIN, sha256_file)
    assert now == shot_keys(spec, "http://localhost:1", sha256_file)  # any loopback port
    for shot in spec.shots:
        key, request = now[shot.name]
        assert key == key_of("loopback", request) != recorded[shot.name]
        assert recorded[shot.name] in accepted_keys(ORIGIN, request, shot.api_type, ORIGIN)
        real = accepted_keys("https://api.heygen.com", request, shot.api_type, ORIGIN)
        assert recorded[shot.name] not in real  # an emulator's render is never a real one


def test_an_old_lock_restores_every_shot_and_then_all_are_up_to_date(project: Path) -> None:
    spec = load_spec(project / "shots.yaml")
    lock = read_lock(spec.lock_path)
    cache = Cache(project / "cache")
    for name, entry in lock.items():
        blob = cache.put_blob_bytes(f"fixture video of {name}\n".encode())
        assert sha256_file(blob) == entry.sha256
    backend = HeyGenBackend(ORIGIN, api_key=None, cache=cache)  # no key: the API is never asked
    first = make_plan(spec, backend, cache)
    assert {item.name: item.status for item in first.items} == dict.fromkeys(lock, RESTORE)
    result = build(spec, backend, cache=cache)
    assert sorted(result.restored) == sorted(lock) and not result.failed and not result.built
    again = make_plan(spec, backend, cache)
    assert {item.name: item.status for item in again.items} == dict.fromkeys(lock, UP_TO_DATE)
    now = read_lock(spec.lock_path)  # the same renders, under the keys the lock had:
    keys = shot_keys(spec, ORIGIN, sha256_file)  # restoring an adopted shot moves no key
    assert now == lock and lock.keys() == keys.keys()
    assert all(lock[name].key != key for name, (key, _) in keys.items())  # each adopted
    assert lock[MOVED].key == legacy_key(spec, MOVED, ORIGIN)  # adopted, not rendered
    cache.close()


def test_an_old_loopback_lock_is_up_to_date_as_it_is(project: Path) -> None:
    """lock --check passes on the old lock as it is, at another loopback port; a build
    restores from the cache alone and then every shot is up to date."""
    spec = load_spec(project / "shots.yaml")
    cache = Cache(project / "cache")
    lock = read_lock(spec.lock_path)
    for name in lock:
        cache.put_blob_bytes(f"fixture video of {name}\n".encode())
    backend = HeyGenBackend("http://localhost:9999", api_key=None, cache=cache)
    assert check_lock(spec, backend, cache).ok  # another loopback port: still the lock's
    build(spec, backend, cache=cache)
    assert check_lock(spec, backend, cache).ok
    again = make_plan(spec, backend, cache)
    assert {item.name: item.status for item in again.items} == dict.fromkeys(lock, UP_TO_DATE)
    cache.close()
