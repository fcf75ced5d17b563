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
    the spec; exit 0 when they match.

    Offline: no API key, no network. Keys are computed as a heygen build would,
    for the API at $HEYGEN_BASE_URL (default https://api.heygen.com): a lock
    rendered against another origin (e.g. the emulator) does not match."""
    from shotbuild.lockcheck import check_lock
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

    if not check:
        raise UsageError(
            "usage: shotbuild lock --check [SPEC] (exit 1 unless shots.lock covers the spec;"
            " the CI gate); see shotbuild lock --help"
        )
    loaded = load(spec)
    settings = Settings.resolve(loaded.root, backend="heygen")
    with Cache() as cache:
        result = check_lock(loaded, settings.open_backend(cache), cache)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    for problem in result.problems:  # the report, on stdout (not with --json: one document)
        click.echo(f"{result.lock_path}: {problem.shot}: {problem.problem}", err=as_json)
    if not result.ok:
        echo_err(
            "shotbuild: the lock does not match the spec: run `shotbuild build` and commit the lock"
        )
        return 1
    if not as_json:
        click.echo(f"{result.lock_path}: matches the spec ({result.shots} shots)")
    return 0
