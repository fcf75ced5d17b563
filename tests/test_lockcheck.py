"""check_lock: the lock check through the planner's keys, as a value (the CLI's
`lock --check` only prints it; tests/test_team_lock_check.py covers the command)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SpecWriter
from engine_fakes import BASE_URL, FakeHeyGen, heygen_backend, no_sleep

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import build
from shotbuild.lockcheck import CHANGED, LEFT, NOT_LOCKED, LockProblem, check_lock
from shotbuild.plan import UP_TO_DATE, make_plan
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache

SPEC = """\
version: 1
defaults: {avatar_id: [look_founder]}
shots:
  intro: {prompt: Hello.}
  outro: {prompt: Goodbye.}
"""


@pytest.fixture
def built(write_spec: SpecWriter) -> Path:
    spec = write_spec(SPEC)
    with Cache() as cache:
        assert (
            build(load_spec(spec), heygen_backend(FakeHeyGen(), cache), sleep=no_sleep).exit_code
            == 0
        )
    return spec


def test_a_built_spec_matches_and_agrees_with_the_plan(built: Path) -> None:
    spec = load_spec(built)
    with Cache() as cache:
        backend = HeyGenBackend(BASE_URL)  # no key: the check is offline
        result = check_lock(spec, backend, cache)
        plan = make_plan(spec, backend, cache)
    assert result.ok and result.problems == () and result.shots == 2
    assert result.lock_path == spec.lock_path
    assert {item.status for item in plan.items} == {UP_TO_DATE}
    assert result.to_json() == {"format_version": 1, "ok": True, "problems": []}


def test_changed_new_and_gone_shots(built: Path) -> None:
    built.write_text(SPEC.replace("Hello.", "Hi there.").replace("outro", "credits"))
    with Cache() as cache:
        result = check_lock(load_spec(built), HeyGenBackend(BASE_URL), cache)
    assert not result.ok and result.shots == 2
    assert result.problems == (
        LockProblem("intro", CHANGED),
        LockProblem("credits", NOT_LOCKED),
        LockProblem("outro", LEFT),
    )
    assert result.to_json()["problems"][2] == {"shot": "outro", "problem": LEFT}


def test_a_cosmetic_edit_still_matches(built: Path) -> None:
    """The check uses the planner's keys: what plan calls unchanged, the check passes."""
    built.write_text(SPEC.replace("intro: {prompt: Hello.}", "intro: {prompt: Hello., title: Hi}"))
    with Cache() as cache:
        assert check_lock(load_spec(built), HeyGenBackend(BASE_URL), cache).ok


def test_another_origin_is_named(built: Path) -> None:
    with Cache() as cache:
        result = check_lock(load_spec(built), HeyGenBackend(), cache)
    assert [p.shot for p in result.problems] == ["intro", "outro"]
    assert result.problems[0].problem == (
        f"rendered by {BASE_URL}, checked for https://api.heygen.com (see $HEYGEN_BASE_URL)"
    )


def test_no_lock_at_all_lists_every_shot(write_spec: SpecWriter) -> None:
    spec = load_spec(write_spec(SPEC))
    with Cache() as cache:
        result = check_lock(spec, HeyGenBackend(BASE_URL), cache)
    assert result.problems == (LockProblem("intro", NOT_LOCKED), LockProblem("outro", NOT_LOCKED))
