"""`shotbuild doctor`: check the set-up (key, origin, account and balance, prices,
type name, remote cache), one line per check; exit 1 when any check fails."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from shotbuild.commands._common import spec_argument


@click.command("doctor")
@spec_argument
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(spec: Path | None, as_json: bool) -> int:
    """Check the set-up without paying for anything: HEYGEN_API_KEY and HEYGEN_BASE_URL,
    the account and its balance, the price table, the type name HeyGen accepts, and
    the remote cache. The project config is found from SPEC's folder (default: here)."""
    from shotbuild import doctor

    folder = spec.resolve().parent if spec is not None else None
    checks = asyncio.run(doctor.run(doctor.Setup.here(folder)))
    if as_json:
        click.echo(json.dumps(doctor.report_json(checks), indent=2, sort_keys=True))
    else:
        for check in checks:
            click.echo(check.line())
    return 1 if doctor.failed(checks) else 0
