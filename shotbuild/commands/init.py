"""`shotbuild init`: a starter spec, with the schema beside it for editors."""

from __future__ import annotations

from pathlib import Path

import click

from shotbuild.commands._common import FILE, echo_err
from shotbuild.errors import ShotbuildError

SCHEMA_FILE = "shots.schema.json"

STARTER = """\
# yaml-language-server: $schema={schema}
#
# A shotbuild spec: each shot is one HeyGen Avatar Shots render ($7.00 each).
# Preview it offline first (no API key, nothing paid):
#   shotbuild build --backend preview {spec}
# Then replace look_replace_me with your avatar look IDs (`shotbuild looks`)
# and build for real with HEYGEN_API_KEY set: shotbuild plan, then shotbuild build.
version: 1

defaults:
  avatar_id: [look_replace_me]
  resolution: 720p
  duration: 5

shots:
  intro:
    prompt: >
      A founder looks up from a laptop in a bright studio and smiles at the
      camera, shot on a slow dolly-in.
    title: Intro

  walk:
    prompt: >
      The founder walks through a sunlit office toward a whiteboard,
      handheld, documentary style.
    aspect_ratio: "16:9"
"""


@click.command("init")
@click.argument(
    "spec",
    required=False,
    default=Path("shots.yaml"),
    type=FILE,
)
def cli(spec: Path) -> int:
    """Write a starter SPEC (default: shots.yaml) and shots.schema.json beside it,
    which the spec's first line points editors at. Never overwrites a file."""
    from shotbuild.commands.schema import write_schema
    from shotbuild.spec.schema import schema_path

    if spec.suffix not in (".yaml", ".yml"):
        raise ShotbuildError(f"{spec}: a spec's name ends in .yaml or .yml")
    schema = spec.parent / SCHEMA_FILE
    for path in (spec, schema):
        if path.exists():
            raise ShotbuildError(f"{path} already exists; init never overwrites a file")
    write_schema(schema, schema_path().read_text(encoding="utf-8"))
    write_schema(spec, STARTER.format(schema=SCHEMA_FILE, spec=spec))
    echo_err(f"wrote {spec} and {schema}")
    echo_err(f"next: shotbuild build --backend preview {spec}   (offline, nothing paid)")
    return 0
