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
from pathlib import Path
from typing import Any, NamedTuple

from shotbuild.errors import FileRefused, ShotbuildError
from shotbuild.money import MoneySettings
from shotbuild.untrusted import one_line, show

CONFIG_NAME = "shotbuild.toml"
MAX_CONFIG_BYTES = 4 << 20
KEYS = ("remote_cache", "remote_cache_mode")
MONEY_KEYS = ("price_per_video", "currency", "max_cost", "confirm")  # read by _money
ENV_URL = "SHOTBUILD_REMOTE_CACHE"
ENV_MODE = "SHOTBUILD_REMOTE_CACHE_MODE"
MODES = ("read", "readwrite")
DEFAULT_MODE = "readwrite"  # CI writes; laptops set read


class ConfigError(ShotbuildError):
    """The project config file cannot be used as written."""


class Config(NamedTuple):
    """The project config file's settings, as read."""

    path: Path | None = None  # where the settings came from (None: no file)
    remote_cache: str | None = None
    remote_cache_mode: str | None = None
    money: MoneySettings = MoneySettings()


def find_config(start: Path) -> Config:
    """The settings of the nearest shotbuild.toml or [tool.shotbuild] above `start`."""
    for folder in (start, *start.parents):
        own = folder / CONFIG_NAME
        if own.is_file():
            return _config(own, _read(own))
        project = folder / "pyproject.toml"
        if project.is_file():
            tool = _read(project).get("tool", {})
            table = tool.get("shotbuild") if isinstance(tool, dict) else None
            if table is not None and not isinstance(table, dict):
                raise ConfigError(f"{project}: [tool.shotbuild] must be a table of settings")
            if isinstance(table, dict):
                return _config(project, table)
        if (folder / ".git").exists():
            break
    return Config()


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(_bounded_text(path))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(
            f"{path}: not valid TOML ({one_line(str(e), 200)}); fix or remove it"
        ) from None
    except (UnicodeDecodeError, RecursionError):
        raise ConfigError(f"{path}: not valid TOML (not UTF-8, or nested too deep)") from None


def _bounded_text(path: Path) -> str:
    """The file's text, read only if it is a regular file of at most MAX_CONFIG_BYTES
    (a config linked to /dev/zero or a FIFO is an error, not an endless read)."""
    from shotbuild.regularfile import read_regular

    try:
        data = read_regular(path, MAX_CONFIG_BYTES)
    except FileRefused as e:
        if e.reason == FileRefused.NOT_REGULAR:
            raise ConfigError(f"{path}: is not a regular file; make it a plain file") from None
        if e.reason == FileRefused.TOO_LARGE:
            raise ConfigError(
                f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes; is it the right file?"
            ) from None
        raise ConfigError(f"{path}: cannot read it ({e.strerror})") from None
    return data.decode("utf-8")


def _config(path: Path, table: Mapping[str, Any]) -> Config:
    where = f"{path} [tool.shotbuild]" if path.name == "pyproject.toml" else str(path)
    unknown = sorted(set(table) - set(KEYS) - set(MONEY_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {one_line(', '.join(unknown), 120)};"
            f" known: {', '.join(KEYS + MONEY_KEYS)}"
        )
    money = _money(where, table)
    for key, value in table.items():
        if key in MONEY_KEYS:
            continue
        if not isinstance(value, str) or len(value) > 2048:
            raise ConfigError(f'{where}: {key} must be a string, e.g. {key} = "..."')
    mode = table.get("remote_cache_mode")
    if mode is not None and mode not in MODES:
        raise ConfigError(f"{where}: remote_cache_mode {show(mode)} is not read or readwrite")
    return Config(
        path=path,
        remote_cache=table.get("remote_cache") or None,
        remote_cache_mode=table.get("remote_cache_mode") or None,
        money=money,
    )


def _money(where: str, table: Mapping[str, Any]) -> MoneySettings:
    """The money settings (price_per_video, currency, max_cost, confirm) of a config table."""
    from shotbuild.money import BadAmount, parse_amount, parse_currency

    confirm = table.get("confirm")
    if confirm is not None and not isinstance(confirm, bool):
        raise ConfigError(f"{where}: confirm must be true or false, not {confirm!r}")
    try:
        return MoneySettings(
            price_per_video=_opt(table, "price_per_video", parse_amount),
            currency=_opt(table, "currency", parse_currency),
            max_cost=_opt(table, "max_cost", parse_amount),
            confirm=confirm,
        )
    except BadAmount as e:
        raise ConfigError(f"{where}: {e}") from None


def _opt(table: Mapping[str, Any], key: str, parse: Any) -> Any:
    return parse(table[key], key) if key in table else None
