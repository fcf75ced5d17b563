"""`shotbuild lock --check`: the CI gate that the lock covers the spec."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shotbuild.commands._common import echo_err, load, spec_argument
from shotbuild.errors import UsageError


@click.command("lock")
@spec_argument
@click.option("--check", is_flag=True, help="Exit 1 unless the lock matches the spec.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(spec: Path | None, check: bool, as_json: bool) -> int:
    """With --check: exit 1 when a shot's current key has no entry in the lock
    (it was changed or added and not built), or the lock names shots that left
    the spec. Offline; the key includes the API origin ($HEYGEN_BASE_URL)."""
    from shotbuild.backends.heygen import HeyGenBackend
    from shotbuild.keys import StatCachedHasher, shot_keys
    from shotbuild.store.cache import Cache
    from shotbuild.store.lock import read_lock

    if not check:
        raise UsageError("shotbuild lock: say what to do: --check")
    loaded = load(spec)
    lock = read_lock(loaded.lock_path)
    with Cache() as cache:
        hasher = StatCachedHasher(cache.stat_load, cache.stat_save)
        keys = shot_keys(loaded, HeyGenBackend.from_env().identity, hasher)
    problems = [
        (name, "not in the lock" if name not in lock else "changed since it was built")
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
