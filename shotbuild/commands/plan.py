"""`shotbuild plan`: what a build would do and why, offline."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shotbuild.commands._common import (
    BUILD_FOLDER,
    backend_option,
    echo_err,
    file_option,
    folder_option,
    load,
    spec_argument,
)
from shotbuild.money import renders_and_money
from shotbuild.plan import Plan

if TYPE_CHECKING:
    from shotbuild.sequences.plan import SequencePlan


@click.command("plan")
@spec_argument
@backend_option
@folder_option("--build-dir", "out", help=f"{BUILD_FOLDER}; `build --out` takes the same folder.")
@file_option(
    "--out",
    "save",
    help="Also save the plan to FILE; `shotbuild build --plan FILE` then does exactly"
    " it, or refuses when anything moved.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when work is pending, 1 on error.",
)
@click.option("--diff", is_flag=True, help="Also each changed field, old -> new, per shot.")
def cli(
    spec: Path | None,
    backend: str | None,
    out: Path | None,
    as_json: bool,
    detailed_exitcode: bool,
    diff: bool = False,
    save: Path | None = None,
) -> int:
    """Show each shot as new, changed (which fields), up to date, in flight,
    failed last time or removed, why, and the seconds of video a build would pay for."""
    from shotbuild.plan import make_plan, served_remotely
    from shotbuild.sequences.plan import plan_of
    from shotbuild.sequences.plan import to_json as cut_json
    from shotbuild.settings import Settings
    from shotbuild.store.cache import Cache

    loaded = load(spec)
    settings = Settings.resolve(loaded.root, backend=backend)
    with Cache() as cache:
        chosen = settings.open_backend()
        plan = make_plan(loaded, chosen, cache, out=out, prices=settings.money.table())
        plan = served_remotely(plan, settings.remote.open())
    if save is not None:
        save_plan(plan, chosen.identity, save)
    cuts = plan_of(plan, "preview" if plan.backend == "preview" else "")
    if as_json:
        doc = {**plan.to_json(), "sequences": [cut_json(c, plan) for c in cuts]}
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        show_plan(plan)
        show_cuts(plan, cuts)
        if diff:
            from shotbuild.commands.explain import show_diff

            show_diff(plan)
    return 2 if detailed_exitcode and plan.pending else 0


def save_plan(plan: Plan, identity: str, path: Path) -> None:
    """`--out FILE`: the plan as a file `build --plan FILE` applies exactly."""
    from shotbuild.savedplan import saved_plan_of, write_saved_plan

    write_saved_plan(path, saved_plan_of(plan, identity))
    echo_err(f"saved the plan to {path}: `shotbuild build --plan {path}` does exactly it")


def show_plan(plan: Plan, live: Mapping[str, str] | None = None) -> None:
    """The plan as a table on stdout (a report: `shotbuild plan > plan.txt` works);
    `live` adds an API state per shot."""
    from shotbuild.report.takes import takes_words, unfinished_words

    width = max((len(i.name) for i in plan.items), default=4)
    for item in plan.items:
        each, seconds = plan.cost_of(item), plan.seconds_among((item,))
        price = f", {each}" if each is not None and seconds else ""
        cost = f"  {seconds:g} s{price}" if seconds else ""
        state = f" [{live[item.name]}]" if live and item.name in live else ""
        notes = (takes_words(plan, item, live), unfinished_words(plan, item, live))
        why = "; ".join((item.reason, *(note for note in notes if note)))
        click.echo(f"{item.name:<{width}}  {item.status:<16} {why}{cost}{state}")
    for item in plan.orphans:
        if item.take:
            continue  # a shot's unfinished take: said on the shot's line
        click.echo(
            f"{item.name:<{width}}  {item.status}: {item.reason}; a build finishes it"
            " into the cache (not build/), so changing the shot back costs nothing"
        )
    counts = plan.counts()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    backend = f" ({plan.backend})" if plan.backend != "heygen" else ""
    paid = "to pay for" if plan.backend == "heygen" else "to render"
    total = plan.cost
    money = f" ({renders_and_money(plan.renders, total)})" if total is not None else ""
    click.echo(f"plan{backend}: {summary or 'no shots'}; {plan.seconds:g} s of video {paid}{money}")


def show_cuts(plan: Plan, cuts: Sequence[SequencePlan]) -> None:
    """One line per sequence: assemble, up to date, or which shots it waits for and
    what they cost."""
    from shotbuild.sequences.plan import describe

    width = max((len(c.name) for c in cuts), default=4)
    for cut in cuts:
        click.echo(f"{cut.name:<{width}}  sequence: {describe(plan, cut)}")
