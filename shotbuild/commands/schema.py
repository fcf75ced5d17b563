"""`shotbuild schema`: print or write the JSON Schema shipped inside the package."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.commands._common import echo_err, file_option


@click.command("schema")
@file_option("-o", "--out", help="Write the schema to this file instead of printing it.")
def cli(out: Path | None) -> int:
    """Print the spec's JSON Schema (Draft 2020-12), the one validate uses, so an
    editor can check shots.yaml as you type (point a `# yaml-language-server:
    $schema=...` line at the file)."""
    from shotbuild.spec.schema import schema_path

    text = schema_path().read_text(encoding="utf-8")
    if out is None:
        click.echo(text, nl=False)
        return 0
    write_schema(out, text)
    echo_err(f"wrote {out}")
    return 0


def write_schema(out: Path, text: str) -> None:
    from shotbuild.errors import ShotbuildError
    from shotbuild.fs import atomic_write_text

    try:
        atomic_write_text(out, text)
    except OSError as e:
        raise ShotbuildError(f"{out}: cannot write the schema ({e.strerror})") from None
