"""Every setting a run uses, read once and passed down: each one is the command-line
option (or Python API argument), else its environment variable, else the project
config file (`config.py`: shotbuild.toml or [tool.shotbuild]), else its default.

    setting             option               environment                   config file
    backend             --backend            SHOTBUILD_BACKEND             -
    API key             -                    HEYGEN_API_KEY                -
    API base URL        -                    HEYGEN_BASE_URL               -
    plain http allowed  -                    SHOTBUILD_ALLOW_INSECURE_HTTP -
    remote cache        --remote-cache       SHOTBUILD_REMOTE_CACHE        remote_cache
    remote cache mode   --remote-cache-mode  SHOTBUILD_REMOTE_CACHE_MODE   remote_cache_mode
    prices, limit       --max-cost           -                             price_per_video,
                                                                           currency, max_cost
    confirmation        -y/--yes             -                             confirm

This module is the only reader of these variables; nothing below it looks at
`os.environ` for them. The API key never appears in a repr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from shotbuild.config import DEFAULT_MODE, ENV_MODE, ENV_URL, MODES, ConfigError, find_config
from shotbuild.errors import UsageError
from shotbuild.heygen.origin import DEFAULT_BASE_URL
from shotbuild.money import MoneySettings

if TYPE_CHECKING:
    from shotbuild.backends.base import Backend
    from shotbuild.store.cache import Cache
    from shotbuild.store.remote import RemoteCache

ENV_API_KEY = "HEYGEN_API_KEY"
ENV_BASE_URL = "HEYGEN_BASE_URL"
ENV_BACKEND = "SHOTBUILD_BACKEND"
ENV_ALLOW_HTTP = "SHOTBUILD_ALLOW_INSECURE_HTTP"  # "1": the key may go over plain http
BACKENDS = ("heygen", "preview")
DEFAULT_BACKEND = "heygen"


class HeyGenAccess:
    """Where the HeyGen API is and the key for it (None: not set). A plain class, not
    a tuple, so the key is never an item to index, unpack or print: its repr leaves
    it out."""

    __slots__ = ("allow_insecure_http", "api_key", "base_url")

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        allow_insecure_http: bool = False,  # the key may go over plain http to another machine
    ) -> None:
        self.base_url: Final = base_url
        self.api_key: Final = api_key
        self.allow_insecure_http: Final = allow_insecure_http

    def _key(self) -> tuple[str, str | None, bool]:
        return (self.base_url, self.api_key, self.allow_insecure_http)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, HeyGenAccess) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"HeyGenAccess(base_url={self.base_url!r},"
            f" allow_insecure_http={self.allow_insecure_http!r})"
        )


class RemoteSetting(NamedTuple):
    """The shared remote cache a build uses (url None: none)."""

    url: str | None = None
    mode: str = DEFAULT_MODE

    def open(self) -> RemoteCache | None:
        """The cache itself; fsspec is imported only when a URL is set."""
        if not self.url:
            return None
        from shotbuild.store.remote import RemoteCache

        return RemoteCache.from_url(self.url, self.mode)


class Settings(NamedTuple):
    """Every setting a command runs with, resolved once."""

    backend: str = DEFAULT_BACKEND
    heygen: HeyGenAccess = HeyGenAccess()
    remote: RemoteSetting = RemoteSetting()
    money: MoneySettings = MoneySettings()  # prices, max_cost, confirm

    @classmethod
    def resolve(
        cls,
        spec_dir: Path | None = None,
        *,
        backend: str | None = None,
        remote_cache: str | None = None,
        remote_cache_mode: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """The settings for a run on the spec in `spec_dir` (None: no config file)."""
        env = os.environ if environ is None else environ
        return cls(
            backend=backend_of(backend, env),
            heygen=heygen_access(env),
            remote=remote_of(spec_dir, remote_cache, remote_cache_mode, env),
            money=find_config(spec_dir).money if spec_dir is not None else MoneySettings(),
        )

    def open_backend(self, cache: Cache | None = None) -> Backend:
        """The backend these settings name (httpx is imported only on first submit)."""
        if self.backend == "preview":
            from shotbuild.backends.preview import PreviewBackend

            return PreviewBackend(cache)
        from shotbuild.backends.heygen import HeyGenBackend

        access = self.heygen
        return HeyGenBackend(
            access.base_url,
            access.api_key,
            cache=cache,
            allow_insecure_http=access.allow_insecure_http,
        )


def _env(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def heygen_access(environ: Mapping[str, str] | None = None) -> HeyGenAccess:
    """HEYGEN_BASE_URL (default https://api.heygen.com), HEYGEN_API_KEY and
    SHOTBUILD_ALLOW_INSECURE_HTTP."""
    env = os.environ if environ is None else environ
    return HeyGenAccess(
        _env(env, ENV_BASE_URL) or DEFAULT_BASE_URL,
        _env(env, ENV_API_KEY),
        allow_insecure_http=allow_insecure_http(env),
    )


def allow_insecure_http(environ: Mapping[str, str] | None = None) -> bool:
    """SHOTBUILD_ALLOW_INSECURE_HTTP=1: the user lets the key go over plain http."""
    env = os.environ if environ is None else environ
    return _env(env, ENV_ALLOW_HTTP) == "1"


def backend_of(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    """--backend, else $SHOTBUILD_BACKEND, else heygen."""
    env = os.environ if environ is None else environ
    name = option or _env(env, ENV_BACKEND) or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; use one of: {', '.join(BACKENDS)}")
    return name


def remote_of(
    spec_dir: Path | None,
    url: str | None,
    mode: str | None,
    env: Mapping[str, str],
) -> RemoteSetting:
    """The remote cache's URL and mode, each from the option, else the environment,
    else the config file. The file is read even when unused, so a broken one never
    hides behind an option."""
    config = find_config(spec_dir) if spec_dir is not None else None

    def setting(option: str | None, var: str, key: str) -> tuple[str | None, str]:
        if option is not None and option.strip():
            return option.strip(), f"--{key.replace('_', '-')}"
        if _env(env, var):
            return env[var].strip(), var
        return (getattr(config, key) if config else None), f"{config and config.path}: {key}"

    chosen_url = setting(url, ENV_URL, "remote_cache")[0]
    if not chosen_url:
        return RemoteSetting()
    chosen, source = setting(mode, ENV_MODE, "remote_cache_mode")
    chosen = chosen or DEFAULT_MODE
    if chosen not in MODES:
        raise ConfigError(f"{source}: remote cache mode {chosen!r} is not read or readwrite")
    return RemoteSetting(chosen_url, chosen)
