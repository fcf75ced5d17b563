"""`shotbuild lock --check`: the CI gate that the lock covers the spec;
`shotbuild lock --take ours|theirs SHOT`: settle one shot of a conflicted merge."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shotbuild.commands._common import echo_err, load
from shotbuild.errors import UsageError

USAGE = (
    "usage: shotbuild lock --check [SPEC] (exit 1 unless shots.lock covers the spec;"
    " the CI gate), or shotbuild lock --take ours|theirs SHOT [SPEC] (after a merge"
    " conflict); see shotbuild lock --help"
)


@click.command("lock")
@click.argument("args", nargs=-1, metavar="[SHOT] [SPEC]")
@click.option("--check", is_flag=True, help="Exit 1 unless the lock matches the spec.")
@click.option(
    "--take",
    type=click.Choice(["ours", "theirs"]),
    default=None,
    help="After a merge conflict: SHOT's entry from that side (git's stage :2: or :3:).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(args: tuple[str, ...], check: bool, take: str | None, as_json: bool) -> int:
    """With --check [SPEC]: exit 1 when a shot's current key has no entry in the lock
    (it was changed or added and not built), or the lock names shots that left
    the spec; exit 0 when they match.

    Offline: no API key, no network. Keys are computed as a heygen build would,
    for the API at $HEYGEN_BASE_URL (default https://api.heygen.com): a lock
    rendered against another origin (e.g. the emulator) does not match.

    With --take ours|theirs SHOT [SPEC], while git lists the lock as conflicted
    (after `git merge`, before `git add`): write SHOT's entry (all its takes and its
    pick) as one side has it, read from git's conflict stages (`git show :2:LOCK`
    is ours, `:3:LOCK` theirs), keeping every other shot of the lock in the work
    tree. The other side's takes of SHOT are kept in this machine's paid-render
    records, so none of its renders is lost. Then `git add` the lock."""
    if take is not None and not check and 1 <= len(args) <= 2:
        return _take(take, args[0], Path(args[1]) if len(args) == 2 else None)
    if not check or take is not None or len(args) > 1:
        raise UsageError(USAGE)
    return _check(Path(args[0]) if args else None, as_json)


def _take(side: str, shot: str, spec: Path | None) -> int:
    from shotbuild.store.cache import Cache
    from shotbuild.store.locktake import take_side
    from shotbuild.untrusted import terminal_safe

    loaded = load(spec)
    with Cache() as cache:
        done = take_side(loaded.lock_path, shot, side, cache)
    name = terminal_safe(shot)
    if done.entry is None:
        said = f"removed, as {side} has it"
    else:
        said = f"took {side}' entry (key {done.entry.key[:12]}, pick {done.entry.pick})"
    other = "theirs" if side == "ours" else "ours"
    kept = f"{other}' {done.other_takes} take(s) kept in the paid-render records"
    click.echo(f"{loaded.lock_path}: shot {name!r}: {said}; {kept}")
    echo_err(f"shotbuild: then `git add {loaded.lock_path.name}` when every shot is settled")
    return 0


def _check(spec: Path | None, as_json: bool) -> int:
    from shotbuild.lockcheck import check_lock
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

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
