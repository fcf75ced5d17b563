"""`build`: hold the spec's build lock, plan, then execute (or only say, dry_run).

The backend's worker is chosen once here: remote jobs or local renders. The
executor gets the stores (lock, manifest, cache, remote cache) through one
Recorder, and the plan stays as planned. A build whose every shot is settled (up
to date, or only a cosmetic change) needs none of them: the engine (executor,
jobs, recorder...) is imported only when a build has work (`_execute`)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shotbuild.backends.base import Backend, Local, Remote, Worker, is_remote
from shotbuild.build import alltakes, settle
from shotbuild.build.context import Context, Sleep, real_sleep
from shotbuild.build.options import PYTHON_NAMES, BuildOptions, BuildResult, NotConfirmed, Would
from shotbuild.build.reroll import with_new_takes
from shotbuild.errors import ShotbuildError, UsageError
from shotbuild.fs import remove_dead_temps
from shotbuild.keys import KeysFirst
from shotbuild.money import Money, check_affordable, refuse_over_limit, refuse_unaffordable
from shotbuild.plan import (
    COSMETIC,
    REMOVED,
    Orphan,
    Plan,
    PlanItem,
    Render,
    Restore,
    Resume,
    Settled,
    ShotItem,
    Work,
    make_plan,
    output_rel,
    served_remotely,
    takes_keys,
)
from shotbuild.progress import NullReporter, Reporter
from shotbuild.spec.load import no_cyclic_gc
from shotbuild.spec.model import Spec
from shotbuild.status import RENDERS, SETTLED, Progress
from shotbuild.store.cache import Cache
from shotbuild.store.outputs import Manifest

if TYPE_CHECKING:
    from shotbuild.build.alltakes import TakeFiles
    from shotbuild.build.executor import Executor
    from shotbuild.store.remote import RemoteCache

Confirm = Callable[[int, Money], bool]  # (renders, cost) -> go on?


def build(
    spec: Spec,
    backend: Backend,
    options: BuildOptions | None = None,
    *,
    cache: Cache | None = None,
    reporter: Reporter | None = None,
    sleep: Sleep | None = None,
    clock: Callable[[], float] = time.monotonic,
    remote: RemoteCache | None = None,
    names: Mapping[str, str] = PYTHON_NAMES,
    confirm: Confirm | None = None,
    check: Callable[[Plan], None] | None = None,
    freeze_plan: bool = False,
) -> BuildResult:
    """Build a spec: hold its build lock, plan, then execute (or only say, dry_run).
    `remote` (a shared RemoteCache) is asked before anything is paid for, and
    given every paid render. `names` says how messages name the options (the CLI
    passes its flags). `confirm(renders, cost)` is asked before a build that pays
    (after the limits and the account's balance are checked); False stops it.
    `check(plan)` sees the plan made under the build lock before anything is done,
    and raises to stop the build (`build --plan FILE`: the saved plan must not move).
    `freeze_plan`: the caller's process ends with the build (the CLI): what planning
    made is frozen for the cyclic collector (gc.freeze), which then never walks the
    lock, the manifest and the plan again (a tenth of a 10,000-shot no-op build)."""
    options = options if options is not None else BuildOptions()
    cache = cache if cache is not None else Cache()
    reporter = reporter or NullReporter()
    _check_names(spec, options, names)
    worker = backend.worker(timeout=options.timeout)
    with cache.spec_lock(spec.path, timeout=options.lock_timeout):
        with no_cyclic_gc(freeze=freeze_plan):  # the readers and the plan: acyclic values
            manifest, plan = _planned(spec, backend, worker, options, cache, remote)
            if check is not None:
                check(plan)
        result = BuildResult(plan, paid=isinstance(worker, Remote), paid_cost=plan.cost_among(()))
        ctx = Context(spec, options, cache, reporter, result, sleep or real_sleep, clock)
        ctx.names = names
        try:
            _execute(ctx, plan, backend, worker, manifest, remote, confirm)
        finally:
            manifest.flush()
        if not options.dry_run and spec.sequences:  # no cut: no import of the assembler
            _assemble_sequences(ctx, backend, manifest.build_dir, result)
        return result


def _planned(
    spec: Spec,
    backend: Backend,
    worker: Worker,
    options: BuildOptions,
    cache: Cache,
    remote: RemoteCache | None,
) -> tuple[Manifest, Plan]:
    """The build folder's manifest and the plan of the build (under its build lock)."""
    locked_at = time.time()
    manifest = Manifest(spec.build_dir if options.out is None else options.out.resolve())
    if not options.dry_run:
        _remove_dead_temps(spec, manifest, locked_at)
    plan = make_plan(
        spec,
        backend,
        cache,
        out=options.out,
        force=options.force,
        manifest=manifest,
        prices=options.prices,
    )
    plan = with_new_takes(
        plan,
        cache,
        backend.identity,
        reroll=options.reroll,
        pick=options.pick_rerolled,
        force=options.force,
    )
    if isinstance(worker, Remote):
        plan = served_remotely(plan, remote)
    return manifest, plan


def _assemble_sequences(
    ctx: Context, backend: Backend, build_dir: Path, result: BuildResult
) -> None:
    """The hook into shotbuild.sequences: cuts from the shots this build left done
    and those its plan found up to date (a build limited by --only, or a pick)."""
    from shotbuild.sequences import FAILED as CUT_FAILED
    from shotbuild.sequences import assemble_built

    done = result.done
    only = ctx.options.only
    cuts = assemble_built(result.plan, build_dir, done, backend.subdir, ctx.reporter, only=only)
    for cut in cuts:
        if cut.status == CUT_FAILED:
            result.failed.append((cut.name, cut.detail))


def _execute(
    ctx: Context,
    plan: Plan,
    backend: Backend,
    worker: Worker,
    manifest: Manifest,
    remote: RemoteCache | None,
    confirm: Confirm | None = None,
) -> None:
    options, cache = ctx.options, ctx.cache
    items = _selected(plan, options)
    takes = plan.extra_among(items)  # the other takes `takes: N` asks for
    orphans = [o for o in plan.orphans if not options.only or o.name in options.only]
    if options.dry_run:
        ctx.result.dry_run = _dry_run([*items, *takes], orphans, paid=ctx.result.paid)
        ctx.result.dry_run += _takes_dry_run(ctx, plan, manifest, backend)
        return
    _check_cost(ctx, plan, items)
    _check_budget(ctx, plan, items)
    for path, stat in plan.hashed.items():
        cache.stat_save(path, stat)  # what planning hashed, so the next plan reads nothing
    if any(_needs_backend(i, remote is not None and ctx.result.paid) for i in (*items, *takes)):
        backend.check_ready()
    _before_paying(ctx, plan, backend, items, confirm)
    orphans = _ready(backend, orphans, ctx.reporter)
    if plan.settled:
        cache.untrack_jobs(plan.spec.path, plan.settled)
    if takes or any(i.status not in SETTLED for i in items):
        cache.remember_spec(plan.spec.path, manifest.build_dir)
    manifest.save_every = 1.0
    _say_preview_takes(ctx, items, paid=ctx.result.paid)
    if not (takes or orphans or options.all_takes) and _settled(
        ctx, plan, items, manifest, backend
    ):
        _settle(ctx, items, manifest, backend)
        return
    executor, slots = _executor(ctx, plan, backend, worker, manifest, remote)
    try:
        work = [*executor.settle(items, manifest.build_dir / backend.subdir), *takes]
        files = _take_files(ctx, plan, executor, backend)
        if work or orphans or options.all_takes:  # asyncio only when there is work
            import asyncio

            asyncio.run(_run(executor, work, orphans, slots, files))
        elif files is not None:
            files.remove_stale()  # a no-op build stays light: no event loop
    finally:
        executor.recorder.flush()  # the lock's last batch (also on Ctrl-C)


def _settled(
    ctx: Context, plan: Plan, items: Sequence[PlanItem], manifest: Manifest, backend: Backend
) -> bool:
    """Whether the shots leave nothing for the engine: each one settled, and no take
    file this spec's builds wrote in takes/ (which the engine brings in line)."""
    if not all(isinstance(i, Settled) for i in items):
        return False
    return not (ctx.result.paid and _wrote_takes(manifest, plan, backend))


def _settle(ctx: Context, items: Sequence[PlanItem], manifest: Manifest, backend: Backend) -> None:
    """What the executor and its recorder do for a build whose every shot is settled
    (`_settled`), without them: a no-op build imports no engine."""
    try:
        settle.remove_stale_temps(manifest.build_dir / backend.subdir, items)
        for item in items:
            assert isinstance(item, Settled)
            settle.up_to_date(ctx.result, manifest, output_rel(backend, item.name), item)
        if ctx.result.paid:
            alltakes.tidy(manifest.build_dir, ())  # TakeFiles.remove_stale: none stale
    finally:  # Recorder.flush with nothing recorded: the list of jobs in flight
        ctx.cache.commit()
        ctx.cache.flush_in_flight()


async def _run(
    executor: Executor, work: list[Work], orphans: list[Orphan], slots: int, takes: TakeFiles | None
) -> None:
    """The shots, then `takes/` brought in line with the lock they left."""
    await executor.run(work, orphans, slots)
    # the new takes held for a shot that failed: its fellows' are kept
    for name, why in executor.recorder.release():
        executor.ctx.result.add_failed(name, why)
        executor.ctx.reporter.shot(name, Progress.FAILED, why)
    if takes is not None:
        await takes.run()


def _take_files(ctx: Context, plan: Plan, executor: Executor, backend: Backend) -> TakeFiles | None:
    """build/takes/ for a paid backend (--all-takes writes it; every build removes the
    stale files it wrote there); None for a local backend, whose renders have no takes."""
    if not executor.recorder.target.locked:
        if ctx.options.all_takes:
            ctx.reporter.message(
                f"note: {ctx.named('all_takes')}: {backend.name} renders have no takes;"
                " nothing written to takes/"
            )
        return None
    keys: dict[str, KeysFirst] = {}  # nothing to write, and none written to remove
    if ctx.options.all_takes or _wrote_takes(executor.recorder.manifest, plan, backend):
        keys = _keys(plan, ctx.options, backend.identity)
    return alltakes.TakeFiles(
        ctx, executor.recorder, executor.jobs, keys, write=ctx.options.all_takes
    )


def _wrote_takes(manifest: Manifest, plan: Plan, backend: Backend) -> bool:
    """Whether the build folder holds a take file this spec's builds wrote for
    `backend` (else a build without --all-takes has nothing to do in takes/, and
    the keys of every shot's takes, three hashes a shot, need not be worked out)."""
    return any(
        alltakes.is_take_rel(rel)
        and owned.backend == backend.name
        and owned.belongs_to(plan.spec.path)
        for rel, owned in manifest.entries.items()
    )


def _keys(plan: Plan, options: BuildOptions, identity: str) -> dict[str, KeysFirst]:
    """Shot -> the keys its takes in the lock may have and be of its current inputs
    (`keys.accepted_keys`), for the shots this build covers (--only)."""
    return {
        i.name: KeysFirst(i.key, functools.partial(takes_keys, i, identity, plan.takes.get(i.name)))
        for i in plan.items
        if isinstance(i, ShotItem) and (not options.only or i.name in options.only)
    }


def _takes_dry_run(ctx: Context, plan: Plan, manifest: Manifest, backend: Backend) -> list[Would]:
    if not is_remote(backend):
        return []
    files = alltakes.wanted(plan.takes, _keys(plan, ctx.options, backend.identity))
    scope = set(ctx.options.only) or None
    gone = alltakes.stale(
        manifest, files, spec_path=plan.spec.path, backend=backend.name, scope=scope
    )
    return alltakes.dry_run(manifest, files, gone, write=ctx.options.all_takes)


def _executor(
    ctx: Context,
    plan: Plan,
    backend: Backend,
    worker: Worker,
    manifest: Manifest,
    remote: RemoteCache | None,
) -> tuple[Executor, int]:
    """The executor for the backend's worker (chosen once); and its number of slots."""
    from shotbuild.build.executor import Executor, Renders
    from shotbuild.build.jobs import RemoteJobs
    from shotbuild.build.local import LocalRenders, workers
    from shotbuild.build.record import Recorder, Target
    from shotbuild.build.restore import Restorer
    from shotbuild.build.shared import Shared

    locked = isinstance(worker, Remote)
    target = Target(backend.name, backend.identity, backend.subdir, locked)
    shared = Shared(remote if locked else None, ctx.cache, ctx.reporter)  # previews stay local
    new = frozenset(i.name for i in plan.items if isinstance(i, ShotItem) and i.take != 1)
    recorder = Recorder(plan.spec, target, plan.takes, manifest, ctx.cache, shared, new)
    renders: Renders
    jobs: RemoteJobs | None = None
    match worker:
        case Remote(jobs=runner):
            listen = getattr(backend, "listen", None)
            if callable(listen):  # the API drift's notes (a refused type name, ...)
                listen(lambda line: ctx.reporter.message(f"note: {line}"))
            renders = jobs = RemoteJobs(ctx, recorder, runner, backend.identity)
            slots = ctx.options.jobs
        case Local(renderer=renderer):
            renders = LocalRenders(ctx, recorder, renderer, backend.name)
            slots = workers(ctx.options.jobs)
    return Executor(ctx, recorder, renders, Restorer(ctx, recorder, jobs), jobs), slots


def _remove_dead_temps(spec: Spec, manifest: Manifest, locked_at: float) -> None:
    """The temporary files a killed build's lock or manifest save left (their
    writer gone, written before this build took the lock): `fs.remove_dead_temps`."""
    remove_dead_temps(manifest.build_dir, (manifest.path.name,), locked_at)
    remove_dead_temps(spec.lock_path.parent, (spec.lock_path.name,), locked_at)
    alltakes.remove_dead_temps(manifest.build_dir, locked_at)


def _check_names(spec: Spec, options: BuildOptions, names: Mapping[str, str]) -> None:
    known = {shot.name for shot in spec.shots}
    ignored = [n for n in options.force if options.only and n not in options.only]
    if ignored:  # a force the selection leaves out would be dropped without a word
        force, only = names.get("force", "force"), names.get("only", "only")
        raise UsageError(
            f"{force} {', '.join(ignored)} is not among {only}: add it there too, or leave"
            f" {only} out"
        )
    given_names = (("only", options.only), ("force", options.force), ("reroll", options.reroll))
    for option, given in given_names:
        unknown = [n for n in given if n not in known]
        if unknown:
            raise UsageError(
                f"{names.get(option, option)}: no shot named {', '.join(unknown)} in {spec.path}"
            )


def _check_cost(ctx: Context, plan: Plan, items: Sequence[PlanItem]) -> None:
    """--max-cost (or max_cost): refuse, before any create, a build that would spend more."""
    if ctx.options.max_cost is None:
        return  # no limit: nothing to add up (a no-op build of many shots stays light)
    cost = plan.cost_among(items)
    if cost is not None:
        refuse_over_limit(cost, ctx.options.max_cost, plan.renders_among(items))


def _before_paying(
    ctx: Context,
    plan: Plan,
    backend: Backend,
    items: Sequence[PlanItem],
    confirm: Confirm | None,
) -> None:
    """Before the first create of a build that pays: can the account pay (read once),
    and does the user want it (asked only on a terminal)? Either stops the build."""
    renders = plan.renders_among(items)
    if not renders:
        return  # (before adding up the cost of every shot)
    cost = plan.cost_among(items)
    if cost is None:
        return
    _check_account(ctx, backend, cost)
    if confirm is not None and not confirm(renders, cost):
        raise NotConfirmed("not confirmed: nothing was submitted")


def _check_account(ctx: Context, backend: Backend, cost: Money) -> None:
    """GET /v3/users/me once: refuse when the wallet or spending cap cannot cover `cost`;
    an unknown balance (or subscription credits) is said and the build goes on."""
    read = getattr(backend, "read_account", None)
    close = getattr(backend, "close", None)
    if not callable(read) or not callable(close):
        return
    import asyncio

    async def once() -> Any:
        try:
            return await read()
        finally:
            await close()  # the build's own loop opens its client again

    line = refuse_unaffordable(check_affordable(asyncio.run(once()), cost))
    if line is not None:
        ctx.reporter.message(f"note: {line}")


def _say_preview_takes(ctx: Context, items: Sequence[PlanItem], *, paid: bool) -> None:
    """A free backend renders each shot once: a preview is never a take (it never
    enters the lock), so `takes: N` is said to wait for a paid build."""
    many = [i.name for i in items if isinstance(i, ShotItem) and i.shot.takes > 1]
    if many and not paid:
        ctx.reporter.message(
            f"note: a preview renders one animatic per shot; the takes of {', '.join(many)}"
            " (takes: N) are rendered by a paid build"
        )


def _check_budget(ctx: Context, plan: Plan, items: Sequence[PlanItem]) -> None:
    limit = ctx.options.max_seconds
    units = (*items, *plan.extra_among(items))
    seconds = sum(i.seconds for i in units if i.status in RENDERS)
    if limit is None:
        return
    if seconds > limit:
        raise ShotbuildError(
            f"this build would render {seconds:g} s of video, over {ctx.named('max_seconds')}"
            f" {limit:g}; nothing was submitted (raise the limit or use {ctx.named('only')})"
        )
    ctx.budget = limit - seconds


def _selected(plan: Plan, options: BuildOptions) -> list[PlanItem]:
    if not options.only:
        return list(plan.items)
    return [i for i in plan.items if i.name in options.only and i.status != REMOVED]


def _needs_backend(item: PlanItem, remote: bool) -> bool:
    """Whether the shot surely needs the API. A locked render may come from the
    remote cache: without an API key only the shots it misses fail."""
    match item:
        case Restore(source=source):
            return source == "lock" and not remote
        case Render() | Resume():
            return True
    return False


def _ready(backend: Backend, orphans: list[Orphan], reporter: Reporter) -> list[Orphan]:
    """Earlier versions are finished only when the API can be asked: a build that
    needs nothing else never fails for want of a key; they wait for the next one."""
    if not orphans:
        return orphans
    try:
        backend.check_ready()
    except ShotbuildError as e:
        names = ", ".join(o.name for o in orphans)
        reporter.message(f"note: earlier versions of {names} still rendering, not checked: {e}")
        return []
    return orphans


def _dry_run(items: Sequence[PlanItem], orphans: Sequence[Orphan], *, paid: bool) -> list[Would]:
    from shotbuild.build.executor import earlier

    verb = "submit" if paid else "render"
    said = [_said(i, what) for i in items if (what := _would(i, verb))]
    return said + [
        Would(o.name, f"finish into the cache: {o.reason}", o.take, earlier(o)) for o in orphans
    ]


def _said(item: PlanItem, what: str) -> Would:
    """The line of `item`: a shot's (take 1) or one of its takes' (labelled "a (take 2)")."""
    if not isinstance(item, ShotItem):
        return Would(item.name, what)
    return Would(item.name, what, item.take, item.label)


def _would(item: PlanItem, verb: str) -> str:
    if item.status in RENDERS:
        return f"{verb} ({item.seconds:g} s of video): {item.reason}"
    if isinstance(item, Restore):
        return f"restore: {item.reason}"
    if isinstance(item, Resume):
        return f"resume: {item.reason}"
    if item.status == REMOVED:
        return f"remove: {item.reason}"
    if item.status == COSMETIC:
        return f"record: {item.reason}"
    return ""
