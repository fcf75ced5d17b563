"""`shotbuild merge-lock`: every per-shot case, the command's files and exit codes, and
a real `git merge` of two branches through the driver."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from shotbuild import cli
from shotbuild.store.lock import (
    LockEntry,
    LockFile,
    ShotTakes,
    dumps_lock,
    dumps_lock_file,
    read_lock,
    read_lock_file,
    write_lock,
    write_lock_file,
)
from shotbuild.store.lockmerge import Conflict, merge_lock_files
from shotbuild.takes import take_key


def e(video_id: str, key: str = "f") -> LockEntry:
    n = sum(map(ord, video_id))  # fields that differ between renders, as real ones do
    return LockEntry(
        key=key * 64,
        video_id=video_id,
        sha256=hashlib.sha256(video_id.encode()).hexdigest(),
        size=1000 + n,
        duration=4.0 + n % 11,
        origin="https://api.heygen.com",
        built_at=f"2026-11-23T20:{n % 60:02}:00Z",
    )


A, A2, A3 = e("a1", "a"), e("a2", "b"), e("a3", "c")


def merge_locks(
    base: dict[str, LockEntry], ours: dict[str, LockEntry], theirs: dict[str, LockEntry]
) -> tuple[dict[str, LockEntry], list[Conflict]]:
    """The merge of one-take locks, in the picked view."""
    sides = (LockFile.from_picked(side) for side in (base, ours, theirs))
    merged, conflicts = merge_lock_files(*sides)
    return merged.picked(), conflicts


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "merged"),
    [
        pytest.param({"s": A}, {"s": A}, {"s": A}, {"s": A}, id="unchanged"),
        pytest.param({"s": A}, {"s": A}, {"s": A2}, {"s": A2}, id="changed-on-theirs"),
        pytest.param({"s": A}, {"s": A2}, {"s": A}, {"s": A2}, id="changed-on-ours"),
        pytest.param({"s": A}, {"s": A2}, {"s": A2}, {"s": A2}, id="changed-alike"),
        pytest.param({}, {}, {"s": A}, {"s": A}, id="added-on-theirs"),
        pytest.param({}, {"s": A}, {}, {"s": A}, id="added-on-ours"),
        pytest.param({}, {"s": A}, {"s": A}, {"s": A}, id="added-alike"),
        pytest.param({"s": A}, {"s": A}, {}, {}, id="removed-on-theirs"),
        pytest.param({"s": A}, {}, {"s": A}, {}, id="removed-on-ours"),
        pytest.param({"s": A}, {}, {}, {}, id="removed-on-both"),
        pytest.param(
            {"x": A, "y": A},
            {"x": A2, "y": A},
            {"x": A, "y": A3},
            {"x": A2, "y": A3},
            id="different-shots",
        ),
    ],
)
def test_clean_merges(
    base: dict[str, LockEntry],
    ours: dict[str, LockEntry],
    theirs: dict[str, LockEntry],
    merged: dict[str, LockEntry],
) -> None:
    assert merge_locks(base, ours, theirs) == (merged, [])


def test_the_same_render_with_other_metadata_is_not_a_conflict() -> None:
    restamped = LockEntry(**{**A.to_json(), "built_at": "2026-11-24T09:00:00Z"})
    assert merge_locks({}, {"s": A}, {"s": restamped}) == ({"s": A}, [])


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "kept", "message"),
    [
        pytest.param(
            {"s": A}, {"s": A2}, {"s": A3}, A2, "changed on both sides", id="changed-both"
        ),
        pytest.param({}, {"s": A2}, {"s": A3}, A2, "changed on both sides", id="added-both"),
        pytest.param({"s": A}, {}, {"s": A3}, A3, "ours removed it, theirs", id="removed-ours"),
        pytest.param({"s": A}, {"s": A2}, {}, A2, "theirs removed it, ours", id="removed-theirs"),
        pytest.param(
            {},
            {"s": e("v1", "f")},
            {"s": e("v2", "f")},
            e("v1", "f"),
            "both sides have a different render as take 1 (ours v1, theirs v2); kept ours",
            id="same-key-two-renders",
        ),
    ],
)
def test_conflicts_keep_an_entry_and_name_the_shot(
    base: dict[str, LockEntry],
    ours: dict[str, LockEntry],
    theirs: dict[str, LockEntry],
    kept: LockEntry,
    message: str,
) -> None:
    merged, conflicts = merge_locks(base | {"other": A}, ours | {"other": A}, theirs)
    assert merged == {"s": kept}  # "other", removed on theirs only, is gone
    assert [c.shot for c in conflicts] == ["s"]
    line = conflicts[0].describe("shots.lock")
    assert line.startswith("shots.lock: shot 's': ") and message in line
    assert line.endswith("then `git add shots.lock`") and "\n" not in line


def lock_files(tmp_path: Path, *sides: dict[str, LockEntry]) -> list[Path]:
    paths = []
    for name, entries in zip(("base", "ours", "theirs"), sides, strict=True):
        path = tmp_path / name
        write_lock(path, entries)
        paths.append(path)
    return paths


def test_command_writes_ours_canonically(tmp_path: Path) -> None:
    base, ours, theirs = lock_files(tmp_path, {"x": A}, {"x": A, "y": A3}, {"x": A2})
    ours.write_text(ours.read_text().replace("  ", "    "))  # not canonical on the way in
    assert cli.main(["merge-lock", str(base), str(ours), str(theirs)]) == 0
    assert ours.read_text() == dumps_lock({"x": A2, "y": A3})


def test_command_reports_conflicts_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, ours, theirs = lock_files(tmp_path, {"x": A, "y": A}, {"x": A2, "y": A2}, {"x": A3})
    assert cli.main(["merge-lock", str(base), str(ours), str(theirs), "film/shots.lock"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith("film/shots.lock: shot 'x': changed on both sides")
    assert "git show MERGE_HEAD:film/shots.lock" in err[0]
    assert err[1].startswith("film/shots.lock: shot 'y': theirs removed it, ours changed it")
    assert read_lock(ours) == {"x": A2, "y": A2}


def test_an_empty_or_missing_base_means_no_common_entries(tmp_path: Path) -> None:
    _, ours, theirs = lock_files(tmp_path, {}, {"x": A}, {"y": A3})
    (tmp_path / "base").write_text("")
    assert cli.main(["merge-lock", str(tmp_path / "base"), str(ours), str(theirs)]) == 0
    assert read_lock(ours) == {"x": A, "y": A3}
    assert cli.main(["merge-lock", str(tmp_path / "nothing"), str(ours), str(theirs)]) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> b\n", "git conflict markers"),
        ("{", "not valid JSON"),
        (
            '{"format_version": 1, "shots": {"x": {}}}',
            "shot 'x': a take lacks the field 'built_at'",
        ),
    ],
)
def test_malformed_sides_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    base, ours, theirs = lock_files(tmp_path, {"x": A}, {"x": A}, {"x": A})
    theirs.write_text(text)
    before = ours.read_text()
    assert cli.main(["merge-lock", str(base), str(ours), str(theirs)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("shotbuild: error: cannot merge shots.lock: the theirs side is not")
    assert message in err and err.count("\n") == 1
    assert ours.read_text() == before  # untouched


# -- a real git merge through the driver ----------------------------------------------


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    driver = f"{shlex.quote(sys.executable)} -m shotbuild merge-lock %O %A %B"
    git(repo, "config", "merge.shotbuild-lock.driver", driver)
    (repo / ".gitattributes").write_text("shots.lock merge=shotbuild-lock\n")
    write_lock(repo / "shots.lock", {"intro": A, "outro": A})
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "both shots rendered")
    return repo


def commit_on(repo: Path, branch: str, entries: dict[str, LockEntry], new: bool = True) -> None:
    git(repo, "checkout", "-q", *(["-b"] if new else []), branch)
    write_lock(repo / "shots.lock", entries)
    git(repo, "commit", "-q", "-am", f"render on {branch}")


def test_git_merges_changes_to_different_shots(repo: Path) -> None:
    commit_on(repo, "feature", {"intro": A2, "outro": A})
    commit_on(repo, "main", {"intro": A, "outro": A3, "extra": A}, new=False)
    done = git(repo, "merge", "--no-edit", "feature", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "shots.lock").read_text() == dumps_lock({"intro": A2, "outro": A3, "extra": A})
    assert git(repo, "status", "--porcelain").stdout == ""


@pytest.mark.parametrize("driver", [True, False])
def test_git_merges_shots_added_at_the_same_place(repo: Path, driver: bool) -> None:
    if not driver:  # the control: git's line merge alone conflicts on these branches
        (repo / ".git" / "info" / "attributes").write_text("shots.lock merge=text\n")
    commit_on(repo, "feature", {"intro": A, "middle-1": e("m1", "d"), "outro": A})
    commit_on(repo, "main", {"intro": A, "middle-2": e("m2", "e"), "outro": A}, new=False)
    done = git(repo, "merge", "--no-edit", "feature", check=False)
    if not driver:
        assert done.returncode != 0 and "<<<<<<<" in (repo / "shots.lock").read_text()
        return
    assert done.returncode == 0, done.stdout + done.stderr
    merged = {"intro": A, "middle-1": e("m1", "d"), "middle-2": e("m2", "e"), "outro": A}
    assert (repo / "shots.lock").read_text() == dumps_lock(merged)
    assert git(repo, "status", "--porcelain").stdout == ""


def test_git_conflict_names_the_shot(repo: Path) -> None:
    commit_on(repo, "feature", {"intro": A2, "outro": A})
    commit_on(repo, "main", {"intro": A3, "outro": A}, new=False)
    done = git(repo, "merge", "--no-edit", "feature", check=False)
    assert done.returncode != 0
    assert "shots.lock: shot 'intro': changed on both sides" in done.stderr
    assert "outro" not in done.stderr
    assert git(repo, "status", "--porcelain").stdout == "UU shots.lock\n"
    assert read_lock(repo / "shots.lock") == {"intro": A3, "outro": A}  # valid, ours kept


# -- takes -----------------------------------------------------------------------------

K = "d" * 64  # one shot's inputs


def take(n: int, video_id: str) -> LockEntry:
    return LockEntry(**{**e(video_id).to_json(), "key": take_key(K, n)})


def shot(*numbers: int, pick: int = 1, tag: str = "") -> ShotTakes:
    return ShotTakes(K, {n: take(n, f"t{n}{tag}") for n in numbers}, pick)


def lock(**shots: ShotTakes) -> LockFile:
    return LockFile(shots)


def test_rerolls_of_one_shot_on_both_sides_keep_every_take() -> None:
    base = lock(s=shot(1))
    ours = lock(s=ShotTakes(K, {1: take(1, "t1"), 2: take(2, "ours2")}, 1))
    theirs = lock(s=ShotTakes(K, {1: take(1, "t1"), 3: take(3, "theirs3")}, 3))
    merged, conflicts = merge_lock_files(base, ours, theirs)
    assert conflicts == []
    got = merged.shots["s"]
    assert got.numbers == [1, 2, 3] and got.pick == 3  # only theirs moved the pick
    assert got.takes[2].video_id == "ours2" and got.takes[3].video_id == "theirs3"


def test_a_pick_on_one_side_and_a_reroll_on_the_other_merge() -> None:
    base = lock(s=shot(1, 2))
    ours = lock(s=shot(1, 2, pick=2))
    theirs = lock(s=shot(1, 2, 3))
    merged, conflicts = merge_lock_files(base, ours, theirs)
    assert conflicts == [] and merged.shots["s"].same_as(shot(1, 2, 3, pick=2))


def test_different_picks_of_one_shot_are_a_conflict_that_keeps_a_valid_lock() -> None:
    base = lock(s=shot(1, 2, 3))
    merged, conflicts = merge_lock_files(
        base, lock(s=shot(1, 2, 3, pick=2)), lock(s=shot(1, 2, 3, pick=3))
    )
    assert [(c.shot, c.picks) for c in conflicts] == [("s", True)]
    line = conflicts[0].describe("shots.lock")
    assert "both sides picked a different take (ours 2, theirs 3)" in line
    assert "`shotbuild pick s N` resolves it" in line and "\n" not in line
    assert merged.shots["s"].pick == 2 and merged.shots["s"].numbers == [1, 2, 3]
    assert read_lock_text_round_trip(merged) == merged


def read_lock_text_round_trip(merged: LockFile) -> LockFile:
    from shotbuild.store.lock import loads_lock_file

    return loads_lock_file(dumps_lock_file(merged))


def test_the_same_take_number_as_two_renders_is_a_named_conflict() -> None:
    ours = lock(s=shot(1, 2, tag="o"))
    theirs = lock(s=ShotTakes(K, {1: take(1, "t1o"), 2: take(2, "other")}, 1))
    merged, conflicts = merge_lock_files(lock(s=shot(1, tag="o")), ours, theirs)
    assert [(c.shot, c.take) for c in conflicts] == [("s", 2)]
    assert merged.shots["s"].takes[2].video_id == "t2o"


def test_changed_inputs_on_one_side_win_over_untouched_takes() -> None:
    other = ShotTakes("e" * 64, {1: e("new", "e")}, 1)
    merged, conflicts = merge_lock_files(lock(s=shot(1, 2)), lock(s=other), lock(s=shot(1, 2)))
    assert conflicts == [] and merged.shots["s"] is other


def test_changed_inputs_and_new_takes_of_the_old_inputs_conflict_keeping_ours() -> None:
    other = ShotTakes("e" * 64, {1: e("new", "e")}, 1)
    merged, conflicts = merge_lock_files(lock(s=shot(1)), lock(s=other), lock(s=shot(1, 2, pick=2)))
    assert [c.shot for c in conflicts] == ["s"] and merged.shots["s"] is other
    assert "changed on both sides" in conflicts[0].describe("shots.lock")


def commit_lock(repo: Path, branch: str, lock_file: LockFile, new: bool = True) -> None:
    git(repo, "checkout", "-q", *(["-b"] if new else []), branch)
    write_lock_file(repo / "shots.lock", lock_file)
    git(repo, "commit", "-q", "-am", f"takes on {branch}")


@pytest.fixture
def takes_repo(repo: Path) -> Path:
    write_lock_file(repo / "shots.lock", lock(a=shot(1), b=shot(1)))
    git(repo, "commit", "-q", "-am", "takes")
    return repo


def test_git_merges_rerolls_and_picks_of_different_shots(takes_repo: Path) -> None:
    commit_lock(takes_repo, "alice", lock(a=shot(1, 2, pick=2), b=shot(1)))
    commit_lock(takes_repo, "main", lock(a=shot(1), b=shot(1, 2, pick=2)), new=False)
    done = git(takes_repo, "merge", "--no-edit", "alice", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    merged = read_lock_file(takes_repo / "shots.lock")
    assert merged.shots["a"].same_as(shot(1, 2, pick=2))
    assert merged.shots["b"].same_as(shot(1, 2, pick=2))
    assert git(takes_repo, "status", "--porcelain").stdout == ""


def test_git_names_both_picking_one_shot_differently(takes_repo: Path) -> None:
    write_lock_file(takes_repo / "shots.lock", lock(a=shot(1, 2, 3), b=shot(1)))
    git(takes_repo, "commit", "-q", "-am", "three takes of a")
    commit_lock(takes_repo, "alice", lock(a=shot(1, 2, 3, pick=2), b=shot(1)))
    commit_lock(takes_repo, "main", lock(a=shot(1, 2, 3, pick=3), b=shot(1)), new=False)
    done = git(takes_repo, "merge", "--no-edit", "alice", check=False)
    assert done.returncode != 0
    assert "shot 'a': both sides picked a different take (ours 3, theirs 2)" in done.stderr
    assert "shotbuild pick a N" in done.stderr and "'b'" not in done.stderr
    assert git(takes_repo, "status", "--porcelain").stdout == "UU shots.lock\n"
    assert read_lock_file(takes_repo / "shots.lock").shots["a"].pick == 3  # valid, ours kept


# -- generated merges --------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

RENDERS = st.sampled_from(["r1", "r2", "r3"])


@st.composite
def shot_versions(draw: st.DrawFn) -> ShotTakes | None:
    """None, or takes of one of two inputs, each take one of a few renders."""
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    inputs = draw(st.sampled_from(["d", "e"])) * 64
    numbers = draw(st.sets(st.integers(1, 4), min_size=1, max_size=4))
    takes = {
        n: LockEntry(
            **{**e(f"{inputs[0]}{n}{draw(RENDERS)}").to_json(), "key": take_key(inputs, n)}
        )
        for n in numbers
    }
    return ShotTakes(inputs, takes, draw(st.sampled_from(sorted(numbers))))


SIDES = st.dictionaries(st.sampled_from(["a", "b"]), shot_versions(), max_size=2).map(
    lambda shots: LockFile({n: s for n, s in shots.items() if s is not None})
)


@settings(max_examples=300, deadline=None)
@given(base=SIDES, ours=SIDES, theirs=SIDES)
def test_a_merge_is_a_valid_lock_that_keeps_every_take_of_the_kept_inputs(
    base: LockFile, ours: LockFile, theirs: LockFile
) -> None:
    merged, conflicts = merge_lock_files(base, ours, theirs)
    assert read_lock_text_round_trip(merged) == merged  # valid: every pick names a take
    conflicted = {c.shot for c in conflicts}
    for name, shot in merged.shots.items():
        for side in (ours.get(name), theirs.get(name)):
            if side is None or side.key != shot.key:
                continue
            for number in side.takes:  # no take number of these inputs is lost
                kept = shot.takes.get(number)
                assert kept is not None
                versions = [
                    s.takes[number]
                    for s in (ours.get(name), theirs.get(name))
                    if s and s.key == shot.key and number in s.takes
                ]
                assert any(kept.same_render(v) for v in versions)
    for name in ours.shots.keys() | theirs.shots.keys():
        if name not in merged.shots:  # only a shot removed on one side and untouched on the other
            assert name not in conflicted
            assert ours.get(name) is None or theirs.get(name) is None


# -- merge-lock --install ----------------------------------------------------------------


def test_install_sets_up_a_driver_git_runs_without_the_venv_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitattributes").write_text("*.png binary")  # no final new line
    write_lock(repo / "shots.lock", {"intro": A, "outro": A})
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "both shots rendered")
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert cli.main(["merge-lock", "--install"]) == 0
    out = capsys.readouterr().out
    assert "added shots.lock merge=shotbuild-lock; commit it" in out
    driver = git(repo, "config", "merge.shotbuild-lock.driver").stdout.strip()
    assert driver == f"{shlex.quote(sys.executable)} -m shotbuild merge-lock %O %A %B"
    attributes = "*.png binary\nshots.lock merge=shotbuild-lock\n"
    assert (repo / ".gitattributes").read_text() == attributes
    assert cli.main(["merge-lock", "--install"]) == 0  # again: nothing added twice
    assert "already routes" in capsys.readouterr().out
    assert (repo / ".gitattributes").read_text() == attributes
    git(repo, "commit", "-q", "-am", "merge driver")
    # git runs the driver with a PATH that has no `shotbuild` on it
    assert shutil.which("shotbuild", path="/usr/bin:/bin") is None
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    # shots added at the same place: git's line merge conflicts here (see above)
    commit_on(repo, "feature", {"intro": A, "middle-1": e("m1", "d"), "outro": A})
    commit_on(repo, "main", {"intro": A, "middle-2": e("m2", "e"), "outro": A}, new=False)
    done = git(repo, "merge", "--no-edit", "feature", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(read_lock(repo / "shots.lock")) == {"intro", "middle-1", "middle-2", "outro"}


def test_install_outside_a_clone_and_bare_merge_lock_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert cli.main(["merge-lock", "--install"]) == 1
    err = capsys.readouterr().err
    assert "git rev-parse failed" in err and err.count("\n") == 1
    assert cli.main(["merge-lock"]) == 2
    assert "shotbuild merge-lock --install" in capsys.readouterr().err
