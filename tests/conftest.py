"""Shared fixtures. Every test runs with its own cache folder, no API key, and a
HOME that does not exist, so no test can touch the real home or the real API."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home") / "does-not-exist"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHOTBUILD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    for var in (
        "XDG_CACHE_HOME",
        "HEYGEN_API_KEY",
        "HEYGEN_BASE_URL",
        "SHOTBUILD_BACKEND",
        "SHOTBUILD_REMOTE_CACHE",
        "SHOTBUILD_REMOTE_CACHE_MODE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
