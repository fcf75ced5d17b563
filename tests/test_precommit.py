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


def test_the_hook() -> None:
    (hook,) = HOOKS
    assert hook["id"] == "shotbuild-validate"
    assert hook["language"] == "python"
    assert hook["entry"] == "shotbuild validate"


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
