"""`build --force` (reroll + pick) and `build --all-takes`, end to end: the real CLI in
child processes against the emulator on 127.0.0.1; and two git branches that force
and reroll merged through the real merge driver."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SPEC_HEAD, RunningEmulator, SpecWriter

from shotbuild.store.lock import read_lock_file
from shotbuild.takes import take_key

KEY = "sk-force-takes-7c1d"
SEED = 5
SPEC = (
    SPEC_HEAD
    + """\
  a: {prompt: The founder says hello.}
  b: {prompt: The founder waves goodbye.}
"""
)


def build_dir(built_spec: Path) -> Path:
    return built_spec.parent / "build"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_ok(emu: RunningEmulator, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    done = emu.shotbuild(*args, **kw)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stdout + done.stderr
    return done


# -- build --force: a new take, picked ------------------------------------------------


def test_force_renders_one_new_take_and_pick_brings_the_old_one_back(
    built_spec: Path, emu: RunningEmulator
) -> None:
    old_bytes, before = (build_dir(built_spec) / "b.mp4").read_bytes(), emu.creates
    old = read_lock_file(built_spec.with_suffix(".lock")).shots["b"]
    forced = run_ok(emu, "build", "--force", "b", str(built_spec), "--json")
    assert emu.creates == before + 1  # one create
    doc = json.loads(forced.stdout)
    assert doc["built"] == ["b"] and doc["paid_renders"] == 1
    shot = read_lock_file(built_spec.with_suffix(".lock")).shots["b"]
    assert shot.numbers == [1, 2] and shot.pick == 2  # the new take, picked
    assert shot.takes[1] == old.takes[1]  # the old take kept as it was
    assert shot.takes[2].key == take_key(shot.key, 2)
    assert sha(build_dir(built_spec) / "b.mp4") == shot.takes[2].sha256 != old.picked.sha256
    assert run_ok(emu, "lock", "--check", str(built_spec)).returncode == 0
    picked = run_ok(emu, "pick", "b", "1", str(built_spec))
    assert "b: take 1 picked" in picked.stderr
    assert (build_dir(built_spec) / "b.mp4").read_bytes() == old_bytes  # the old bytes
    assert emu.creates == before + 1  # 0 creates for the pick
    assert read_lock_file(built_spec.with_suffix(".lock")).shots["b"].pick == 1
    check = run_ok(emu, "lock", "--check", str(built_spec))
    assert check.returncode == 0
    rebuilt = run_ok(emu, "build", str(built_spec))
    assert "2 up to date" in rebuilt.stderr and emu.creates == before + 1


def test_force_is_priced_capped_and_said_like_any_render(
    built_spec: Path, emu: RunningEmulator
) -> None:
    before = emu.creates
    plan = run_ok(emu, "build", "--force", "b", "--dry-run", str(built_spec))
    said = "b (take 2): would submit (4 s of video): take 2: another take"
    assert said in plan.stderr, plan.stderr
    refused = emu.shotbuild("build", "--force", "b", "--max-cost", "5", str(built_spec))
    assert refused.returncode == 1 and "would spend $7.00 on 1 render" in refused.stderr
    capped = emu.shotbuild("build", "--force", "b", "--max-seconds", "3", str(built_spec))
    assert capped.returncode == 1 and "over --max-seconds 3" in capped.stderr
    assert emu.creates == before  # refused before any create
    done = run_ok(emu, "build", "--force", "b", "--max-cost", "7", str(built_spec))
    assert "paid this run: 1 render, $7.00" in done.stderr and emu.creates == before + 1


def test_a_force_is_counted_even_when_the_remote_cache_holds_take_1(
    emu: RunningEmulator, write_spec: SpecWriter, tmp_path: Path
) -> None:
    built_spec = write_spec(SPEC)
    shared = emu.env(SHOTBUILD_REMOTE_CACHE=(tmp_path / "shared").as_uri())
    run_ok(emu, "build", str(built_spec), env=shared)
    for args in (("build", "--force", "b"), ("reroll", "b")):
        plan = run_ok(emu, *args, "--dry-run", "--json", str(built_spec), env=shared)
        would = json.loads(plan.stdout)["dry_run"][0]
        assert (would["name"], would["take"], would["label"]) == ("b", 2, "b (take 2)")
        refused = emu.shotbuild(*args, "--max-cost", "5", str(built_spec), env=shared)
        assert refused.returncode == 1, refused.stderr  # $7.00, not served by take 1
        assert "would spend $7.00 on 1 render" in refused.stderr
    assert emu.creates == 2


def test_force_of_a_shot_never_built_renders_its_first_take(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    built_spec = write_spec(SPEC)
    run_ok(emu, "build", "--force", "a", str(built_spec))
    lock = read_lock_file(built_spec.with_suffix(".lock"))
    assert lock.shots["a"].numbers == [1] and lock.shots["b"].numbers == [1]
    assert emu.creates == 2


# -- build --all-takes -----------------------------------------------------------------


def takes_files(built_spec: Path) -> dict[str, str]:
    folder = build_dir(built_spec) / "takes"
    return {str(p.relative_to(folder)): sha(p) for p in sorted(folder.rglob("*.mp4"))}


def test_all_takes_writes_every_take_once_and_clean_removes_them(
    built_spec: Path, emu: RunningEmulator
) -> None:
    run_ok(emu, "build", "--force", "b", str(built_spec))
    before = emu.creates
    lock = read_lock_file(built_spec.with_suffix(".lock"))
    dry = run_ok(emu, "build", "--all-takes", "--dry-run", str(built_spec))
    assert "b: would write takes/b/2.mp4 (take 2)" in dry.stderr, dry.stderr
    assert not (build_dir(built_spec) / "takes").exists()
    done = run_ok(emu, "build", "--all-takes", str(built_spec), "--json")
    assert sorted(json.loads(done.stdout)["takes_written"]) == [
        "takes/a/1.mp4",
        "takes/b/1.mp4",
        "takes/b/2.mp4",
    ]
    assert takes_files(built_spec) == {
        "a/1.mp4": lock.shots["a"].takes[1].sha256,
        "b/1.mp4": lock.shots["b"].takes[1].sha256,
        "b/2.mp4": lock.shots["b"].takes[2].sha256,
    }
    assert sha(build_dir(built_spec) / "b.mp4") == lock.shots["b"].takes[2].sha256  # the pick
    stats = {p: p.stat() for p in (build_dir(built_spec) / "takes").rglob("*.mp4")}
    again = run_ok(emu, "build", "--all-takes", str(built_spec), "--json")
    assert json.loads(again.stdout)["takes_written"] == []  # a rerun writes nothing
    assert "written" not in again.stderr
    for path, st in stats.items():
        now = path.stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    plain = run_ok(emu, "build", str(built_spec))  # without --all-takes: left alone
    assert "removed" not in plain.stderr and len(takes_files(built_spec)) == 3
    assert emu.creates == before
    cleaned = run_ok(emu, "clean", str(built_spec))
    assert "takes/b/2.mp4" in cleaned.stdout + cleaned.stderr
    assert not (build_dir(built_spec) / "takes").exists()
    assert not build_dir(built_spec).exists()


def test_all_takes_downloads_by_video_id_or_takes_from_the_remote_cache(
    built_spec: Path, emu: RunningEmulator, tmp_path: Path
) -> None:
    run_ok(emu, "build", "--force", "a", str(built_spec))
    lock = read_lock_file(built_spec.with_suffix(".lock"))
    want = {f"{n}/{t}.mp4": e.sha256 for n, s in lock.shots.items() for t, e in s.takes.items()}
    fresh = emu.env(SHOTBUILD_CACHE_DIR=str(tmp_path / "empty-cache"))  # another machine
    done = run_ok(emu, "build", "--all-takes", str(built_spec), env=fresh)
    assert "takes/a/1.mp4: written (from a download of" in done.stderr, done.stderr
    assert takes_files(built_spec) == want
    shutil.rmtree(build_dir(built_spec) / "takes")
    shared = {"SHOTBUILD_REMOTE_CACHE": (tmp_path / "shared").as_uri()}
    run_ok(emu, "build", str(built_spec), env=emu.env(**shared))  # ours shares nothing yet
    seed = emu.env(**shared, SHOTBUILD_CACHE_DIR=str(tmp_path / "seed-cache"))
    run_ok(emu, "build", "--all-takes", str(built_spec), env=seed)  # downloads, then shares
    shutil.rmtree(build_dir(built_spec) / "takes")
    other = emu.env(**shared, SHOTBUILD_CACHE_DIR=str(tmp_path / "third-cache"))
    downloads = emu.counts["downloads"]
    from_remote = run_ok(emu, "build", "--all-takes", str(built_spec), env=other)
    assert "takes/a/2.mp4: written (from the remote cache)" in from_remote.stderr
    assert takes_files(built_spec) == want
    assert emu.counts["downloads"] == downloads  # none from HeyGen this time
    assert emu.creates == 3


def test_a_persons_file_among_the_takes_is_never_overwritten(
    built_spec: Path, emu: RunningEmulator
) -> None:
    run_ok(emu, "build", "--force", "b", str(built_spec))
    mine = build_dir(built_spec) / "takes" / "b" / "2.mp4"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own edit")
    done = emu.shotbuild("build", "--all-takes", str(built_spec))
    assert done.returncode == 1 and "was not written by shotbuild" in done.stderr, done.stderr
    assert mine.read_bytes() == b"my own edit"
    assert set(takes_files(built_spec)) == {"a/1.mp4", "b/1.mp4", "b/2.mp4"}
    run_ok(emu, "clean", str(built_spec))
    assert mine.read_bytes() == b"my own edit"  # clean keeps it too
    assert not (build_dir(built_spec) / "takes" / "a").exists()


def test_take_files_of_earlier_inputs_are_removed_as_stale(
    built_spec: Path, emu: RunningEmulator
) -> None:
    run_ok(emu, "build", "--all-takes", str(built_spec))
    assert set(takes_files(built_spec)) == {"a/1.mp4", "b/1.mp4"}
    built_spec.write_text(SPEC.replace("says hello.", "says hi."))
    done = run_ok(emu, "build", str(built_spec))  # no --all-takes: nothing written
    assert "takes/a/1.mp4: removed (no longer a take on record)" in done.stderr, done.stderr
    assert set(takes_files(built_spec)) == {"b/1.mp4"}
    assert not (build_dir(built_spec) / "takes" / "a").exists()
    run_ok(emu, "build", "--all-takes", str(built_spec))
    assert set(takes_files(built_spec)) == {"a/1.mp4", "b/1.mp4"}  # a's new take 1


def test_a_hostile_manifest_cannot_name_a_path_outside_takes(
    built_spec: Path, emu: RunningEmulator
) -> None:
    from shotbuild.build.alltakes import take_rel
    from shotbuild.store.outputs import MANIFEST_NAME, Manifest
    from shotbuild.untrusted import BadValue

    for shot, number in [("../x", 1), ("a/b", 1), ("a", 0), ("a", True), ("a", "1")]:
        with pytest.raises((BadValue, ValueError)):
            take_rel(shot, number)  # type: ignore[arg-type]
    manifest = build_dir(built_spec) / MANIFEST_NAME
    doc = json.loads(manifest.read_text())
    victim = built_spec.parent / "victim.mp4"
    victim.write_bytes(b"keep me")
    doc["outputs"]["takes/../../victim.mp4"] = doc["outputs"]["a.mp4"]
    manifest.write_text(json.dumps(doc))
    assert Manifest(build_dir(built_spec)).entries == {}  # refused whole, not followed
    run_ok(emu, "build", "--all-takes", str(built_spec))
    run_ok(emu, "clean", str(built_spec))
    assert victim.read_bytes() == b"keep me"


# -- two branches that force and reroll, merged by git through the driver -----------------


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.fixture
def repo(built_spec: Path) -> Path:
    repo = built_spec.parent
    git(repo, "init", "-q", "-b", "main")
    driver = f"{shlex.quote(sys.executable)} -m shotbuild merge-lock %O %A %B"
    git(repo, "config", "merge.shotbuild-lock.driver", driver)
    (repo / ".gitattributes").write_text("shots.lock merge=shotbuild-lock\n")
    (repo / ".gitignore").write_text("build/\n")
    git(repo, "add", ".gitattributes", ".gitignore", "shots.yaml", "shots.lock")
    git(repo, "commit", "-q", "-m", "a and b rendered")
    return repo


def commit(repo: Path, message: str) -> None:
    git(repo, "commit", "-q", "-am", message)


def test_branches_that_force_and_reroll_different_shots_merge_cleanly(
    repo: Path, built_spec: Path, emu: RunningEmulator
) -> None:
    git(repo, "checkout", "-q", "-b", "alice")
    run_ok(emu, "build", "--force", "a", str(built_spec))
    commit(repo, "a: a new take, picked")
    git(repo, "checkout", "-q", "main")
    run_ok(emu, "reroll", "b", "--pick", str(built_spec))
    commit(repo, "b: a new take, picked")
    before = emu.creates
    done = git(repo, "merge", "--no-edit", "alice", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    merged = read_lock_file(built_spec.with_suffix(".lock"))
    assert (merged.shots["a"].numbers, merged.shots["a"].pick) == ([1, 2], 2)
    assert (merged.shots["b"].numbers, merged.shots["b"].pick) == ([1, 2], 2)
    assert git(repo, "status", "--porcelain").stdout == ""
    run_ok(emu, "lock", "--check", str(built_spec))
    rebuilt = run_ok(emu, "build", str(built_spec))  # both picks in place, from the cache
    assert emu.creates == before, rebuilt.stderr
    for name in ("a", "b"):
        assert sha(build_dir(built_spec) / f"{name}.mp4") == merged.shots[name].picked.sha256


def test_branches_that_pick_different_takes_of_one_shot_are_a_named_conflict(
    repo: Path, built_spec: Path, emu: RunningEmulator
) -> None:
    run_ok(emu, "build", "--force", "a", str(built_spec))  # a: takes 1 and 2, 2 picked
    commit(repo, "a: a second take")
    git(repo, "checkout", "-q", "-b", "alice")
    run_ok(emu, "pick", "a", "1", str(built_spec))
    commit(repo, "a: back to take 1")
    git(repo, "checkout", "-q", "main")
    run_ok(emu, "build", "--force", "a", str(built_spec))  # a: take 3, picked
    commit(repo, "a: a third take")
    done = git(repo, "merge", "--no-edit", "alice", check=False)
    assert done.returncode != 0
    assert "shot 'a': both sides picked a different take (ours 3, theirs 1)" in done.stderr
    assert "shotbuild pick a N" in done.stderr and "'b'" not in done.stderr
    lock = read_lock_file(built_spec.with_suffix(".lock"))  # a valid lock, ours picked
    assert lock.shots["a"].numbers == [1, 2, 3] and lock.shots["a"].pick == 3
    resolved = run_ok(emu, "pick", "a", "1", str(built_spec))
    assert "a: take 1 picked" in resolved.stderr
    git(repo, "add", "shots.lock")
    assert git(repo, "commit", "-q", "--no-edit", check=False).returncode == 0
    assert read_lock_file(built_spec.with_suffix(".lock")).shots["a"].pick == 1


def test_preview_force_renders_again_and_all_takes_says_there_are_none(
    write_spec: SpecWriter,
) -> None:
    built_spec = write_spec(SPEC)

    def preview(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "shotbuild", "build", "--backend", "preview", *args]
        done = subprocess.run([*cmd, str(built_spec)], capture_output=True, text=True, timeout=100)
        assert done.returncode == 0, done.stderr
        return done

    assert "2 built" in preview().stderr
    forced = preview("--force", "a", "--all-takes")
    assert "1 built" in forced.stderr and "1 up to date" in forced.stderr  # no takes: again
    assert "--all-takes: preview renders have no takes" in forced.stderr
    assert not built_spec.with_suffix(".lock").exists()
    assert not (build_dir(built_spec) / "takes").exists()
