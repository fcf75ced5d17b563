"""`shotbuild lock --take ours|theirs SHOT`: one shot of a conflicted shots.lock
settled from git's conflict stages, in a real git merge, with no render lost."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from test_merge_lock import e, git

from shotbuild import cli
from shotbuild.store.cache import Cache
from shotbuild.store.lock import LockFile, ShotTakes, read_lock_file, write_lock_file
from shotbuild.store.records import paid_records
from shotbuild.takes import take_key

SPEC = "shots:\n  intro: {prompt: p, avatar_id: [l]}\n  outro: {prompt: q, avatar_id: [l]}\n"
K1, K2, K3 = "1" * 64, "2" * 64, "3" * 64


def takes(inputs: str, *numbers: int, pick: int = 1, tag: str = "") -> ShotTakes:
    entries = {n: e(f"{tag}{n}").replace(key=take_key(inputs, n)) for n in numbers}
    return ShotTakes(inputs, entries, pick)


OURS_INTRO = takes(K2, 1, 2, pick=2, tag="ours")
THEIRS_INTRO = takes(K3, 1, tag="theirs")
OUTRO, THEIRS_OUTRO = takes(K1, 1, tag="outro"), takes(K1, 1, 2, pick=2, tag="outro")


def commit(repo: Path, branch: str, lock: LockFile, new: bool = True) -> None:
    git(repo, "checkout", "-q", *(["-b"] if new else []), branch)
    write_lock_file(repo / "shots.lock", lock)
    git(repo, "commit", "-q", "-am", f"render on {branch}")


@pytest.fixture
def conflicted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    if getattr(request, "param", True):
        driver = f"{shlex.quote(sys.executable)} -m shotbuild merge-lock %O %A %B"
        git(repo, "config", "merge.shotbuild-lock.driver", driver)
        (repo / ".gitattributes").write_text("shots.lock merge=shotbuild-lock\n")
    (repo / "shots.yaml").write_text(SPEC)
    write_lock_file(repo / "shots.lock", LockFile({"intro": takes(K1, 1), "outro": OUTRO}))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "both shots rendered")
    commit(repo, "feature", LockFile({"intro": THEIRS_INTRO, "outro": THEIRS_OUTRO}))
    commit(repo, "main", LockFile({"intro": OURS_INTRO, "outro": OUTRO}), new=False)
    done = git(repo, "merge", "--no-edit", "feature", check=False)
    assert done.returncode != 0
    assert git(repo, "status", "--porcelain").stdout == "UU shots.lock\n"
    monkeypatch.chdir(repo)
    return repo


@pytest.mark.parametrize("conflicted", [True, False], ids=["driver", "line-merge"], indirect=True)
def test_take_theirs_keeps_the_other_shots_and_records_ours_takes(
    conflicted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["lock", "--take", "theirs", "intro"]) == 0
    out = capsys.readouterr()
    assert "shot 'intro': took theirs' entry (key 333333333333, pick 1)" in out.out
    assert "ours' 2 take(s) kept in the paid-render records" in out.out
    assert "git add shots.lock" in out.err
    lock = read_lock_file(conflicted / "shots.lock")
    assert lock.shots == {"intro": THEIRS_INTRO, "outro": THEIRS_OUTRO}
    with Cache() as cache:  # ours' renders of intro are not lost
        for n, entry in OURS_INTRO.takes.items():
            [record] = paid_records(cache, take_key(K2, n))
            assert (record.video_id, record.take, record.shot) == (entry.video_id, n, "intro")
    assert cli.main(["lock", "--take", "ours", "intro"]) == 0  # and back again
    assert read_lock_file(conflicted / "shots.lock").shots["intro"] == OURS_INTRO
    git(conflicted, "add", "shots.lock")
    assert cli.main(["lock", "--take", "ours", "intro"]) == 1  # no longer conflicted
    err = capsys.readouterr().err
    assert "git has no ours side of it" in err and "before `git add`" in err


def test_take_an_unknown_shot_and_bad_usage(
    conflicted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["lock", "--take", "ours", "nope"]) == 1
    assert "neither side of the merge has a shot 'nope'" in capsys.readouterr().err
    assert cli.main(["lock", "--take", "ours"]) == 2
    assert cli.main(["lock", "--take", "mine", "intro"]) == 2
    before = (conflicted / "shots.lock").read_text()
    assert cli.main(["lock", "--check", "--take", "ours", "intro"]) == 2
    assert (conflicted / "shots.lock").read_text() == before
