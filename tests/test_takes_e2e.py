"""Takes end to end: the real CLI in child processes against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SPEC_HEAD, RunningEmulator

from shotbuild.store.lock import read_lock_file, write_lock_file
from shotbuild.takes import take_key

KEY = "sk-takes-emulated-5a2e"
SEED = 3
SPEC = (
    SPEC_HEAD
    + """\
  a: {prompt: The founder says hello.}
  b: {prompt: The founder waves goodbye.}
"""
)


def output(built_spec: Path, name: str) -> bytes:
    return (built_spec.parent / "build" / f"{name}.mp4").read_bytes()


def give_a_second_take(built_spec: Path) -> None:
    """Take 2 of a, made of b's paid render (real bytes the emulator rendered)."""
    lock_path = built_spec.with_suffix(".lock")
    lock = read_lock_file(lock_path)
    a, b = lock.shots["a"], lock.shots["b"]
    second = b.picked.__class__(**{**b.picked.to_json(), "key": take_key(a.key, 2)})
    write_lock_file(lock_path, lock.with_shot("a", a.with_take(2, second)))


def test_pick_switches_the_output_with_no_create(built_spec: Path, emu: RunningEmulator) -> None:
    give_a_second_take(built_spec)
    before, b_bytes = emu.creates, output(built_spec, "b")
    picked = emu.shotbuild("pick", "a", "2", str(built_spec))
    assert picked.returncode == 0, picked.stderr
    assert "a: take 2 picked" in picked.stderr
    assert output(built_spec, "a") == b_bytes and emu.creates == before
    assert read_lock_file(built_spec.with_suffix(".lock")).shots["a"].pick == 2
    check = emu.shotbuild("lock", "--check", str(built_spec))
    assert check.returncode == 0, check.stderr
    rebuilt = emu.shotbuild("build", str(built_spec))
    assert "2 up to date" in rebuilt.stderr and emu.creates == before
    back = emu.shotbuild("pick", "a", "1", str(built_spec))
    assert back.returncode == 0 and output(built_spec, "a") != b_bytes


def test_pick_says_what_exists(built_spec: Path, emu: RunningEmulator) -> None:
    lock_before = built_spec.with_suffix(".lock").read_bytes()
    for args, words in [
        (("a", "2"), "shot 'a' has no take 2 (takes on record: 1)"),
        (("zz", "1"), "no shot named 'zz' in shots.yaml (shots: a, b)"),
    ]:
        done = emu.shotbuild("pick", *args, str(built_spec))
        assert done.returncode == 1 and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert built_spec.with_suffix(".lock").read_bytes() == lock_before


def test_pick_is_refused_while_a_build_holds_the_spec(
    built_spec: Path, emu: RunningEmulator
) -> None:
    from shotbuild.store.cache import Cache

    with Cache() as cache, cache.spec_lock(built_spec.resolve()):
        done = emu.shotbuild("pick", "a", "1", str(built_spec))
    assert done.returncode == 1 and "another shotbuild build is running" in done.stderr


def _json(text: str) -> object:
    return json.loads(text)


def test_takes_lists_every_take_and_the_pick(built_spec: Path, emu: RunningEmulator) -> None:
    give_a_second_take(built_spec)
    listed = emu.shotbuild("takes", str(built_spec), "a", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = _json(listed.stdout)["takes"]  # type: ignore[index]
    assert [(r["shot"], r["take"], r["picked"]) for r in rows] == [("a", 1, True), ("a", 2, False)]
    table = emu.shotbuild("takes", str(built_spec))
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["shot", "take", "video_id", "when", "picked"]
    assert [line.split()[:2] for line in lines[1:]] == [["a", "1"], ["a", "2"], ["b", "1"]]
    assert lines[1].endswith("*") and not lines[2].endswith("*")


def test_going_back_to_an_earlier_prompt_after_gc_is_free(
    built_spec: Path, emu: RunningEmulator
) -> None:
    original, before = output(built_spec, "a"), emu.creates
    text = built_spec.read_text()
    built_spec.write_text(text.replace("says hello.", "says hi."))
    changed = emu.shotbuild("build", str(built_spec))
    assert changed.returncode == 0 and emu.creates == before + 1
    history = emu.shotbuild("takes", str(built_spec), "a", "--history")
    assert "(earlier inputs: The founder says hello.)" in history.stdout, history.stdout
    assert emu.shotbuild("gc").returncode == 0
    built_spec.write_text(text)
    back = emu.shotbuild("build", str(built_spec))
    assert back.returncode == 0, back.stderr
    assert emu.creates == before + 1 and output(built_spec, "a") == original


def test_reroll_adds_a_take_without_changing_the_output(
    built_spec: Path, emu: RunningEmulator
) -> None:
    original, before = output(built_spec, "a"), emu.creates
    done = emu.shotbuild("reroll", "a", str(built_spec))
    assert done.returncode == 0, done.stderr
    assert emu.creates == before + 1 and output(built_spec, "a") == original
    shot = read_lock_file(built_spec.with_suffix(".lock")).shots["a"]
    assert shot.numbers == [1, 2] and shot.pick == 1
    assert shot.takes[2].key == take_key(shot.key, 2)
    check = emu.shotbuild("lock", "--check", str(built_spec))
    assert check.returncode == 0, check.stderr
    rebuilt = emu.shotbuild("build", str(built_spec))
    assert "2 up to date" in rebuilt.stderr and emu.creates == before + 1
    picked = emu.shotbuild("pick", "a", "2", str(built_spec))
    assert picked.returncode == 0 and emu.creates == before + 1
    assert output(built_spec, "a") != original
    assert (built_spec.parent / "build" / "a.mp4").stat().st_size == shot.takes[2].size


def test_reroll_with_pick_and_its_cap(built_spec: Path, emu: RunningEmulator) -> None:
    before = emu.creates
    capped = emu.shotbuild("reroll", "b", str(built_spec), "--max-seconds", "1")
    assert capped.returncode == 1 and "over --max-seconds 1" in capped.stderr, capped.stderr
    assert emu.creates == before
    done = emu.shotbuild("reroll", "b", str(built_spec), "--pick")
    assert done.returncode == 0, done.stderr
    shot = read_lock_file(built_spec.with_suffix(".lock")).shots["b"]
    assert shot.numbers == [1, 2] and shot.pick == 2 and emu.creates == before + 1
    assert (built_spec.parent / "build" / "b.mp4").stat().st_size == shot.takes[2].size


@pytest.mark.parametrize("point", ["before-create", "after-create", "mid-download"])
def test_a_killed_reroll_resumes_its_take_and_pays_once(
    built_spec: Path, emu: RunningEmulator, point: str
) -> None:
    before = emu.creates
    killed = emu.shotbuild(
        "reroll", "a", str(built_spec), env=emu.env(SHOTBUILD_TEST_CRASH_AT=point)
    )
    assert killed.returncode != 0
    again = emu.shotbuild("reroll", "a", str(built_spec))
    assert again.returncode == 0, again.stderr
    shot = read_lock_file(built_spec.with_suffix(".lock")).shots["a"]
    assert shot.numbers == [1, 2] and emu.creates == before + 1  # take 2, paid once


def _run_until_done(emu: RunningEmulator, cmd: list[str], env: dict[str, str]) -> None:
    """`cmd` run with `env`, then (killed) again as it is, at most twice, until it succeeds."""
    run = emu.shotbuild(*cmd, env=env)
    for _ in range(2):
        if run.returncode == 0:
            break
        run = emu.shotbuild(*cmd)
    assert run.returncode == 0, run.stderr


def _one_new_take_each(built_spec: Path, emu: RunningEmulator, creates: int) -> None:
    """a and b have one new take each, paid once (`creates`: the jobs till then)."""
    shots = read_lock_file(built_spec.with_suffix(".lock")).shots
    assert [shots["a"].numbers, shots["b"].numbers] == [[1, 2], [1, 2]]
    assert emu.creates == creates + 2


def test_a_reroll_of_two_killed_with_one_take_pending_pays_each_take_once(
    built_spec: Path, emu: RunningEmulator
) -> None:
    """The soak's lost take: the first take's lock write went out at once, the
    second's was batched, and a kill then left the lock with a's take and not b's;
    running the reroll again paid for a third take of a (and never gave b its
    second as the one of that reroll). A reroll's takes now reach the lock together."""
    creates = emu.creates
    env = emu.env(SHOTBUILD_TEST_CRASH_AT="lock-pending")
    _run_until_done(emu, ["reroll", "a", "b", str(built_spec)], env)
    _one_new_take_each(built_spec, emu, creates)


@pytest.mark.parametrize(
    "cmd",
    [
        ["reroll", "a", "b"],
        ["reroll", "--pick", "a", "b"],
        ["build", "--force", "a", "--force", "b"],
    ],
)
@pytest.mark.parametrize("point", ["new-take-held", "picks-placed"])
def test_a_command_killed_after_one_of_its_new_takes_pays_each_take_once(
    built_spec: Path, emu: RunningEmulator, cmd: list[str], point: str
) -> None:
    """Killed once the first new take is on record (held from the lock till the
    other lands), or once both picked takes are in build/ but not yet in the lock:
    the lock is as before, and running the command again restores the takes on
    record from the cache and renders the rest, each paid once (a shot whose output
    then differs from the lock's pick is rerolled all the same)."""
    lock, creates = read_lock_file(built_spec.with_suffix(".lock")), emu.creates
    env = emu.env(SHOTBUILD_TEST_CRASH_AT=point)
    killed = emu.shotbuild(*cmd, str(built_spec), env=env)
    assert killed.returncode == -9, killed.stderr
    assert read_lock_file(built_spec.with_suffix(".lock")) == lock
    _run_until_done(emu, [*cmd, str(built_spec)], emu.env())
    _one_new_take_each(built_spec, emu, creates)
    shots = read_lock_file(built_spec.with_suffix(".lock")).shots
    picked = 2 if cmd[0] == "build" or "--pick" in cmd else 1
    assert (shots["a"].pick, shots["b"].pick) == (picked, picked)


def test_a_build_after_a_killed_reroll_keeps_its_take_for_the_next_reroll(
    built_spec: Path, emu: RunningEmulator
) -> None:
    before = emu.creates
    env = emu.env(SHOTBUILD_TEST_CRASH_AT="after-create")
    assert emu.shotbuild("reroll", "a", str(built_spec), env=env).returncode != 0
    built = emu.shotbuild("build", str(built_spec))  # finishes the take's job into the cache
    assert built.returncode == 0, built.stderr
    again = emu.shotbuild("reroll", "a", str(built_spec))
    assert again.returncode == 0, again.stderr
    shot = read_lock_file(built_spec.with_suffix(".lock")).shots["a"]
    assert shot.numbers == [1, 2] and emu.creates == before + 1


def test_the_python_api_rerolls_lists_and_picks(
    built_spec: Path, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild import api

    monkeypatch.setenv("HEYGEN_BASE_URL", emu.url)
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    before = emu.creates
    result = api.reroll(built_spec, ["a"])
    assert result.built == ["a"] and emu.creates == before + 1
    rows = api.takes(built_spec, ["a"])
    assert [(r.take, r.picked) for r in rows] == [(1, True), (2, False)]
    picked = api.pick(built_spec, "a", 2)
    assert picked.ok and picked.changed and emu.creates == before + 1
    assert [(r.take, r.picked) for r in api.takes(built_spec, ["a"])] == [(1, False), (2, True)]


def test_the_review_pages_pick_changes_the_lock(
    built_spec: Path, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.review.model import ReviewError, pick
    from shotbuild.spec import load_spec

    monkeypatch.setenv("HEYGEN_BASE_URL", emu.url)
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    give_a_second_take(built_spec)
    before, b_bytes = emu.creates, output(built_spec, "b")
    spec = load_spec(built_spec)
    assert pick(spec, "a", 2).number == 2
    assert read_lock_file(built_spec.with_suffix(".lock")).shots["a"].pick == 2
    assert output(built_spec, "a") == b_bytes and emu.creates == before
    with pytest.raises(ReviewError):
        pick(spec, "a", 3)
