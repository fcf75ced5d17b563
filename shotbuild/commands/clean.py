"""`shotbuild clean`: remove the build outputs shotbuild wrote (and nothing else)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from shotbuild.commands._common import echo_err, load, out_option, spec_argument


@click.command("clean")
@spec_argument
@out_option
@click.option("--dry-run", is_flag=True, help="List what would be removed.")
def cli(spec: Path | None, out: Path | None, dry_run: bool) -> int:
    """Remove the outputs shotbuild wrote to the build folder (every backend).
    Other files there are never touched; the lock and the cache stay, so the
    next build restores outputs without rendering."""
    from shotbuild.plan import build_dir_of
    from shotbuild.store.outputs import Manifest

    loaded = load(spec)
    manifest = Manifest(build_dir_of(loaded, out))
    for rel in sorted(r for r, o in manifest.entries.items() if o.belongs_to(loaded.path)):
        path = manifest.build_dir / rel
        if manifest.state(rel) == "foreign":
            echo_err(f"kept {path}: it is not the file shotbuild wrote there")
            if not dry_run:
                manifest.forget(rel)
            continue
        echo_err(f"{'would remove' if dry_run else 'removed'} {path}")
        if not dry_run:
            manifest.remove(rel)
    from shotbuild.sequences import remove_outputs

    for subdir in ("", "preview"):  # the cuts, as their own record lists them
        for cut in remove_outputs(loaded, manifest.build_dir, subdir, dry_run=dry_run):
            echo_err(f"{'would remove' if dry_run else 'removed'} {cut}")
    if not dry_run:
        with contextlib.suppress(FileNotFoundError):
            if not manifest.entries:
                manifest.path.unlink()
        for sub in (manifest.build_dir / "preview", manifest.build_dir):
            with contextlib.suppress(OSError):
                sub.rmdir()  # only when empty
    return 0
