"""No shot's key may move: tests/fixtures/keys holds a spec with every field kind and
the keys the code before issue 10 computed for it (shots.lock for an HTTP origin,
keys.json for the preview identity and two origins). Today's code must agree, and a
build from that lock must leave every shot up to date without asking the API."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import build
from shotbuild.heygen.drift import legacy_key_type_names
from shotbuild.keys import key_of, request_of, sha256_file, shot_keys
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
    for identity in ("preview:1", ORIGIN, "https://api.heygen.com"):
        now = {name: key for name, (key, _) in shot_keys(spec, identity, sha256_file).items()}
        moved = now.pop(MOVED)
        old = dict(recorded[identity])
        assert now == {k: v for k, v in old.items() if k != MOVED}, identity
        assert moved != old[MOVED] == legacy_key(spec, MOVED, identity)
    assert len(recorded[ORIGIN]) == len(spec.shots) == 5


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
    now = read_lock(spec.lock_path)
    new_key = shot_keys(spec, ORIGIN, sha256_file)[MOVED][0]
    assert now == {**lock, MOVED: dataclasses.replace(lock[MOVED], key=new_key)}
    assert lock[MOVED].key == legacy_key(spec, MOVED, ORIGIN)  # adopted, not rendered
    cache.close()
