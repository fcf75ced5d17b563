"""The pre-commit hook users add, and this project's own pre-commit config."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shotbuild.spec.files import is_spec_name

REPO = Path(__file__).resolve().parent.parent
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
CONFIG = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))

SPECS = [
    "shots.yaml",
    "shots.yml",
    "video/shots.yaml",
    "a/b/c/shots.yml",
    "launch.shots.yaml",
    "campaigns/q3.launch.shots.yml",
]
NOT_SPECS = [
    "myshots.yaml",
    "shots.yaml.orig",
    "shots.lock",
    "shots.json",
    "other.yaml",
    "shots/config.yaml",
    "a/shotsXyaml",
    "a/.shots.yaml/b.txt",
]


def test_the_hooks() -> None:
    validate, lock_check = HOOKS
    assert validate["id"] == "shotbuild-validate"
    assert validate["language"] == "python"
    assert validate["entry"] == "shotbuild validate"
    assert lock_check["id"] == "shotbuild-lock-check"
    assert lock_check["entry"] == "shotbuild lock --check"
    assert lock_check["pass_filenames"] is False
    for path in ("shots.yaml", "a/b.shots.yml", "shots.lock", "x/promo.shots.lock"):
        assert re.search(lock_check["files"], path), path
    assert not re.search(lock_check["files"], "poetry.lock")


def test_the_lock_check_hook_stops_a_commit_of_an_unbuilt_change(tmp_path: Path) -> None:
    import os
    import shlex
    import subprocess
    import sys

    (tmp_path / "shots.yaml").write_text("shots:\n  a: {prompt: p, avatar_id: [l]}\n")
    entry = shlex.split(HOOKS[1]["entry"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("HEYGEN_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "shotbuild", *entry[1:]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "a: not in the lock" in done.stdout


@pytest.mark.parametrize("path", SPECS)
def test_hook_matches_specs(path: str) -> None:
    assert re.search(HOOKS[0]["files"], path)
    assert is_spec_name(Path(path).name)  # a folder given to validate finds the same files


@pytest.mark.parametrize("path", NOT_SPECS)
def test_hook_skips_other_files(path: str) -> None:
    assert not re.search(HOOKS[0]["files"], path)
    assert not is_spec_name(Path(path).name)


def test_project_config_runs_linters_and_validates_examples() -> None:
    hooks = {h["id"]: h for repo in CONFIG["repos"] for h in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "shotbuild-validate"} <= set(hooks)
    files = hooks["shotbuild-validate"]["files"]
    examples = [p.relative_to(REPO).as_posix() for p in (REPO / "examples").rglob("*.yaml")]
    assert examples and all(re.search(files, p) for p in examples)
    assert not re.search(files, "tests/shots.yaml")


@pytest.mark.parametrize(
    ("command", "file"),
    [
        ("validate-manifest", ".pre-commit-hooks.yaml"),
        ("validate-config", ".pre-commit-config.yaml"),
    ],
)
def test_pre_commit_accepts_the_files(command: str, file: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", command, file],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
