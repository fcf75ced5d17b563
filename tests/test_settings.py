"""Settings: option > environment > config file, read once; the only reader of the
HeyGen and shotbuild variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shotbuild.config import ConfigError
from shotbuild.errors import UsageError
from shotbuild.heygen.origin import DEFAULT_BASE_URL
from shotbuild.settings import HeyGenAccess, RemoteSetting, Settings, heygen_access

SOURCES = Path(__file__).resolve().parent.parent / "shotbuild"


def test_defaults_with_an_empty_environment() -> None:
    settings = Settings.resolve(environ={})
    assert settings == Settings("heygen", HeyGenAccess(DEFAULT_BASE_URL, None), RemoteSetting())
    assert settings.remote.open() is None


def test_the_heygen_variables_are_stripped_and_the_key_never_shown() -> None:
    env = {"HEYGEN_API_KEY": " sk-secret-77 ", "HEYGEN_BASE_URL": "http://127.0.0.1:9 "}
    access = heygen_access(env)
    assert access == HeyGenAccess("http://127.0.0.1:9", "sk-secret-77")
    settings = Settings.resolve(environ=env)
    assert "sk-secret-77" not in repr(settings) and "sk-secret-77" not in str(settings)
    assert heygen_access({"HEYGEN_API_KEY": "  ", "HEYGEN_BASE_URL": ""}) == HeyGenAccess()


def test_backend_option_then_environment_then_heygen() -> None:
    env = {"SHOTBUILD_BACKEND": "preview"}
    assert Settings.resolve(environ=env).backend == "preview"
    assert Settings.resolve(backend="heygen", environ=env).backend == "heygen"
    assert Settings.resolve(environ={"SHOTBUILD_BACKEND": " "}).backend == "heygen"
    with pytest.raises(UsageError, match=r"^unknown backend 'paid'; use one of: heygen, preview$"):
        Settings.resolve(environ={"SHOTBUILD_BACKEND": "paid"})


def test_the_backend_opened_is_the_one_named() -> None:
    env = {"HEYGEN_BASE_URL": "http://127.0.0.1:9/v3", "HEYGEN_API_KEY": "sk-x"}
    heygen = Settings.resolve(environ=env).open_backend()
    assert (heygen.name, heygen.identity) == ("heygen", "http://127.0.0.1:9")
    assert Settings.resolve(backend="preview", environ=env).open_backend().name == "preview"


def test_the_remote_cache_from_the_environment_alone(tmp_path: Path) -> None:
    url = tmp_path.as_uri()
    assert Settings.resolve(environ={"SHOTBUILD_REMOTE_CACHE": "  "}).remote == RemoteSetting()
    remote = Settings.resolve(environ={"SHOTBUILD_REMOTE_CACHE": url}).remote
    assert remote == RemoteSetting(url, "readwrite")
    env = {"SHOTBUILD_REMOTE_CACHE": url, "SHOTBUILD_REMOTE_CACHE_MODE": "read"}
    cache = Settings.resolve(environ=env).remote.open()
    assert cache is not None and (cache.url, cache.mode) == (url, "read")
    env["SHOTBUILD_REMOTE_CACHE_MODE"] = "write"
    with pytest.raises(ConfigError, match=r"^SHOTBUILD_REMOTE_CACHE_MODE: remote cache mode 'w"):
        Settings.resolve(environ=env)


def test_the_process_environment_is_read_when_none_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings.resolve().remote.open() is None
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE", tmp_path.as_uri())
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE_MODE", "read")
    monkeypatch.setenv("HEYGEN_API_KEY", "sk-from-env")
    settings = Settings.resolve()
    assert settings.remote == RemoteSetting(tmp_path.as_uri(), "read")
    assert settings.heygen.api_key == "sk-from-env"


def test_a_mode_without_a_url_is_not_checked() -> None:
    env = {"SHOTBUILD_REMOTE_CACHE_MODE": "bogus"}
    assert Settings.resolve(environ=env).remote == RemoteSetting()


@pytest.mark.parametrize(
    "name", ["HEYGEN_API_KEY", "HEYGEN_BASE_URL", "SHOTBUILD_BACKEND", "SHOTBUILD_REMOTE_CACHE"]
)
def test_no_other_module_reads_these_variables(name: str) -> None:
    reads = re.compile(r"environ(\.get)?\(?\[?[\"']" + name + r"[\"']")
    readers = sorted(
        str(path.relative_to(SOURCES))
        for path in SOURCES.rglob("*.py")
        if reads.search(path.read_text(encoding="utf-8"))
    )
    assert readers == []  # settings.py reads them through a name, not a literal
    assert name in (SOURCES / "settings.py").read_text(encoding="utf-8")
