"""The project config file: settings a team commits once instead of exporting everywhere.

Looked for upward from the spec's folder, up to the folder holding `.git` (the
repository's root) or the file system's root; the first folder with either file wins:

    shotbuild.toml                 pyproject.toml
    remote_cache = "s3://..."      [tool.shotbuild]
    remote_cache_mode = "read"     remote_cache = "s3://..."

Each setting is taken from the command-line option, else the environment variable,
else this file (else its default): `shotbuild.settings` applies that order.
Unknown keys and bad values are one-line errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotbuild.errors import ShotbuildError

CONFIG_NAME = "shotbuild.toml"
KEYS = ("remote_cache", "remote_cache_mode")
ENV_URL = "SHOTBUILD_REMOTE_CACHE"
ENV_MODE = "SHOTBUILD_REMOTE_CACHE_MODE"
MODES = ("read", "readwrite")
DEFAULT_MODE = "readwrite"  # CI writes; laptops set read


class ConfigError(ShotbuildError):
    """The project config file cannot be used as written."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # where the settings came from (None: no file)
    remote_cache: str | None = None
    remote_cache_mode: str | None = None


def find_config(start: Path) -> Config:
    """The settings of the nearest shotbuild.toml or [tool.shotbuild] above `start`."""
    for folder in (start, *start.parents):
        own = folder / CONFIG_NAME
        if own.is_file():
            return _config(own, _read(own))
        project = folder / "pyproject.toml"
        if project.is_file():
            table = _read(project).get("tool", {}).get("shotbuild")
            if isinstance(table, dict):
                return _config(project, table)
        if (folder / ".git").exists():
            break
    return Config()


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix or remove it") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror})") from None


def _config(path: Path, table: Mapping[str, Any]) -> Config:
    where = f"{path} [tool.shotbuild]" if path.name == "pyproject.toml" else str(path)
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {', '.join(unknown)}; known: {', '.join(KEYS)}"
        )
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(f'{where}: {key} must be a string, e.g. {key} = "..."')
    mode = table.get("remote_cache_mode")
    if mode is not None and mode not in MODES:
        raise ConfigError(f"{where}: remote_cache_mode {mode!r} is not read or readwrite")
    return Config(
        path=path,
        remote_cache=table.get("remote_cache") or None,
        remote_cache_mode=table.get("remote_cache_mode") or None,
    )
