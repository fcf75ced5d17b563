"""`shotbuild lock --check`: the CI gate that the lock covers the spec."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shotbuild.commands._common import echo_err, load, spec_argument
from shotbuild.errors import UsageError
from shotbuild.store.lock import LockEntry


@click.command("lock")
@spec_argument
@click.option("--check", is_flag=True, help="Exit 1 unless the lock matches the spec.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(spec: Path | None, check: bool, as_json: bool) -> int:
    """With --check: exit 1 when a shot's current key has no entry in the lock
    (it was changed or added and not built), or the lock names shots that left
    the spec; exit 0 when they match.

    Offline: no API key, no network. Keys are computed as a heygen build would,
    for the API at $HEYGEN_BASE_URL (default https://api.heygen.com): a lock
    rendered against another origin (e.g. the emulator) does not match."""
    from shotbuild.backends.heygen import HeyGenBackend
    from shotbuild.keys import StatCachedHasher, shot_keys
    from shotbuild.store.cache import Cache
    from shotbuild.store.lock import read_lock

    if not check:
        raise UsageError("shotbuild lock: say what to do: --check")
    loaded = load(spec)
    lock = read_lock(loaded.lock_path)
    origin = HeyGenBackend.from_env().identity
    with Cache() as cache:
        hasher = StatCachedHasher(cache.stat_load, cache.stat_save)
        keys = shot_keys(loaded, origin, hasher)
    problems = [
        (name, _mismatch(lock.get(name), origin))
        for name, (key, _) in keys.items()
        if name not in lock or lock[name].key != key
    ]
    problems += [
        (name, "in the lock but not in the spec") for name in sorted(lock) if name not in keys
    ]
    if as_json:
        doc = {
            "format_version": 1,
            "ok": not problems,
            "problems": [{"shot": name, "problem": why} for name, why in problems],
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    for name, why in problems:
        echo_err(f"{loaded.lock_path}: {name}: {why}")
    if problems:
        echo_err(
            "shotbuild: the lock does not match the spec: run `shotbuild build` and commit the lock"
        )
        return 1
    if not as_json:
        echo_err(f"{loaded.lock_path}: matches the spec ({len(keys)} shots)")
    return 0


def _mismatch(entry: LockEntry | None, origin: str) -> str:
    if entry is None:
        return "not in the lock"
    if entry.origin != origin:
        return f"rendered by {entry.origin}, checked for {origin} (see $HEYGEN_BASE_URL)"
    return "changed since it was built"
