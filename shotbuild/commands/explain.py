"""`shotbuild explain SHOT [SPEC]`: one shot's plan status and, for a changed
shot, each changed field with its old and new value (offline, like `plan`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shotbuild.commands._common import backend_option, load, out_option, spec_argument
from shotbuild.errors import ShotbuildError
from shotbuild.plan import Plan, PlanItem
from shotbuild.reasons import Change
from shotbuild.untrusted import redact, terminal_safe

VALUE_WIDTH = 60  # a longer value (a prompt) is shown cut, ending in an ellipsis


@click.command("explain")
@click.argument("shot")
@spec_argument
@backend_option
@out_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def cli(shot: str, spec: Path | None, backend: str | None, out: Path | None, as_json: bool) -> int:
    """Why SHOT has its plan status: the status, the reason and, for a changed
    shot, each changed field as old -> new (long values cut; --json has them whole)."""
    from shotbuild.plan import make_plan
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

    loaded = load(spec)
    settings = Settings.resolve(loaded.root, backend=backend)
    with Cache() as cache:
        plan = make_plan(loaded, settings.open_backend(), cache, out=out)
    item = find_item(plan, shot)
    if as_json:
        doc = {"format_version": 1, "shot": explain_json(item)}
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        click.echo(f"{safe(item.name)}  {item.status}: {safe(item.reason)}")
        for line in change_lines(item.why.changes):
            click.echo(line)
    return 0


def find_item(plan: Plan, name: str) -> PlanItem:
    """The plan's item for shot `name`; a clear error naming the spec's shots."""
    for item in (*plan.items, *plan.orphans):
        if item.name == name:
            return item
    names = ", ".join(i.name for i in plan.items[:10]) or "none"
    more = ", ..." if len(plan.items) > 10 else ""
    raise ShotbuildError(
        f"{plan.spec.path}: no shot named {safe(name)!r} (shots: {names}{more});"
        " give a shot name as in `shotbuild plan`"
    )


def explain_json(item: PlanItem) -> dict[str, Any]:
    changes = [{"field": c.field, "old": c.old, "new": c.new} for c in item.why.changes]
    return {**item.to_json(), "changes": changes}


def change_lines(changes: tuple[Change, ...], indent: str = "  ") -> list[str]:
    """One `field: old -> new` line per changed field."""
    return [f"{indent}{safe(c.field)}: {shown(c.old)} -> {shown(c.new)}" for c in changes]


def show_diff(plan: Plan) -> None:
    """`plan --diff`: under each shot with changed fields, their old -> new lines."""
    for item in plan.items:
        if item.why.changes:
            click.echo(f"{safe(item.name)}  {item.status}:")
            for line in change_lines(item.why.changes):
                click.echo(line)


def shown(value: Any, width: int = VALUE_WIDTH) -> str:
    """A value on one line, safe for a terminal, cut with an ellipsis when long."""
    if value is None:
        return "(none)"
    text = safe(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def safe(text: str) -> str:
    """Text from the spec or the cache as it may reach a terminal: secrets
    redacted, control and bidi characters escaped, on one line."""
    return terminal_safe(redact(text)).replace("\n", "\\n")
