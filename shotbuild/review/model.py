"""The review page's one view of the project: spec + plan + lock + build folder ->
shots with their takes, statuses, reasons and the renders a build would pay for.

This is the only module of the review package that reads the engine's types
(Spec, Plan, LockEntry, the build folder layout). Takes, sequences and the new
planner change this file and nothing else: the page and the server speak only
the values defined here.

A shot's takes are the lock's takes of it, one of them picked; each is playable
when its bytes are on this machine (media.py: the output, build/takes/, or the
local cache's blob), else on record only (`shotbuild pick` fetches it). The preview
animatic at <build_dir>/preview/<shot>.mp4 stands in (marked PREVIEW) where no
paid take exists. Paths stay on the server: the page names media by shot and take
number.

Each sequence of the spec is its members (shot, media to play, in/out trims) for
the page to play in order over the members' own files, plus the assembled cut
(<build_dir>/<seq>.mp4, or the preview cut under preview/) when it is current,
and the paid cut's status and reason (waiting for which shots)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shotbuild.errors import ShotbuildError
from shotbuild.review.media import take_file
from shotbuild.spec.model import Reference, Sequence, Shot, Spec
from shotbuild.store.lock import LockEntry, ShotTakes
from shotbuild.takes import MAX_TAKE_NUMBER

if TYPE_CHECKING:
    from shotbuild.settings import Settings

PREVIEW = "preview"  # the media name of a shot's preview animatic (not a take number)
CUT = "cut"  # the media name of a sequence's assembled (paid) cut; PREVIEW: its preview cut
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
MAX_INLINE_IMAGE = 2_000_000  # bytes of a base64 reference shown as a thumbnail


class ReviewError(ShotbuildError):
    """A review request names something the spec does not have."""


@dataclass(frozen=True)
class Take:
    number: int  # 1-based; the keys 1-9 pick takes 1-9 (any take can be clicked)
    picked: bool
    available: bool  # its bytes are on this machine (else: on record only)
    video_id: str
    seconds: float
    built_at: str
    origin: str


@dataclass(frozen=True)
class Thumb:
    """A reference as the page shows it: an image served by index, or a label."""

    index: int
    kind: str  # image | video
    label: str  # file name, URL or asset_id, as written
    served: bool  # /ref/<shot>/<index> answers with the image


@dataclass(frozen=True)
class ShotView:
    name: str
    prompt: str
    title: str | None
    looks: tuple[str, ...]
    aspect_ratio: str
    resolution: str
    duration: str  # "5 s" or "auto"
    status: str  # the paid plan's status (new, changed, up to date, in flight, failed ...)
    reason: str
    fields: tuple[str, ...]  # changed fields
    message: str | None  # a failed render's message from HeyGen
    seconds: float  # seconds of video a paid build would render for this shot
    takes: tuple[Take, ...]
    wanted: int  # takes the spec asks for
    preview: bool  # a preview animatic exists
    preview_current: bool  # ... and it matches the shot as written now
    references: tuple[Thumb, ...] = ()
    renders: int = 0  # renders a paid build would pay for (extra takes included)
    cost: str = ""  # what they cost ("$14.00"; "": not priced)

    @property
    def picked(self) -> Take | None:
        return next((t for t in self.takes if t.picked), None)


@dataclass(frozen=True)
class MemberView:
    """One shot of a sequence as the page plays it: from `start` to `end` (None:
    the shot's own start, end) of `media` ("1".."9": the picked take, "preview":
    the animatic, None: nothing to play yet)."""

    shot: str
    media: str | None
    start: float | None
    end: float | None


@dataclass(frozen=True)
class SequenceView:
    name: str
    members: tuple[MemberView, ...]
    status: str  # the paid cut's: assemble, up to date, waiting for shots
    reason: str
    waits_for: tuple[str, ...]  # the shots the paid cut waits for
    cut: str | None  # CUT or PREVIEW: the assembled file that is current; None: none is
    assembly: str = ""  # the paid cut's re-assembly after a pick here: "", queued, running, failed
    assembly_error: str = ""  # what went wrong (one line), when it failed


@dataclass(frozen=True)
class ReviewModel:
    spec: str  # the spec's file name
    shots: tuple[ShotView, ...]
    renders: int  # renders a paid build would pay for (extra takes included)
    seconds: float  # ... and the seconds of video it would pay for
    error: str | None = None  # the spec or lock cannot be read right now
    watch: bool = False  # previews of changed shots are re-rendered in the background
    sequences: tuple[SequenceView, ...] = ()  # in file order, after the shots
    digest: str = field(default="", compare=False)
    cost: str = ""  # what a paid build would spend ("$21.00"; "": not priced)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["digest"] = self.digest or digest_of(doc)
        return doc


def digest_of(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Project:
    """Where the review reads from: a spec path, and how to plan it (injectable for tests)."""

    spec_path: Path
    watch: bool = False
    planner: Callable[[Spec, str], Any] | None = None  # (spec, backend name) -> Plan
    cache_dir: Path | None = None  # the local cache (None: the default folder)
    settings: Settings | None = None  # config and environment, read once (`resolved`)

    def load(self) -> Spec:
        from shotbuild.spec import load_spec

        return load_spec(self.spec_path)

    def resolved(self) -> Project:
        """This project with its settings read (the config file and the environment):
        once for a whole `shotbuild review`, not on every change."""
        return self if self.settings is not None else replace(self, settings=self.read_settings())

    def read_settings(self) -> Settings:
        """The settings as given, else as read now (the price table, the remote cache)."""
        if self.settings is not None:
            return self.settings
        from shotbuild.settings import Settings

        return Settings.resolve(self.spec_path.parent, backend="heygen")


def build_model(project: Project) -> ReviewModel:
    """The page's model now; a spec or lock that cannot be read gives a model with
    `error` set and no shots (the page keeps what it showed and says why)."""
    return read_project(project)[1]


def read_project(project: Project) -> tuple[Spec | None, ReviewModel]:
    """The spec (None when it cannot be read) and the page's model of it."""
    project = project.resolved()
    try:
        spec = project.load()
        paid = plan_project(project, spec, "heygen")
        preview = plan_project(project, spec, "preview")
    except ShotbuildError as e:
        error = ReviewModel(project.spec_path.name, (), 0, 0.0, error=str(e), watch=project.watch)
        return None, error
    items = {i.name: i for i in paid.items}
    previews = {i.name: i for i in preview.items}
    shots = tuple(
        _shot(s, items[s.name], previews[s.name], paid, project.cache_dir) for s in spec.shots
    )
    renders = paid.renders_among(paid.items)
    seconds = float(paid.seconds_among(paid.items))
    cuts = _sequences(spec, shots, paid, preview)
    model = ReviewModel(spec.path.name, shots, renders, seconds, watch=project.watch)
    return spec, replace(model, sequences=cuts, cost=_money(paid.cost_among(paid.items)))


def _money(cost: Any) -> str:
    return "" if cost is None else str(cost)


def plan_project(project: Project, spec: Spec, backend: str) -> Any:
    """The plan of `spec` for `backend` ("heygen" or "preview"), with the project's settings."""
    if project.planner is not None:
        return project.planner(spec, backend)
    from shotbuild.backends import get_backend
    from shotbuild.plan import make_plan
    from shotbuild.store.cache import Cache

    settings = project.read_settings()._replace(backend=backend)
    prices = settings.money.table() if backend == "heygen" else None
    with Cache(project.cache_dir) as cache:
        chosen = get_backend(cache=cache, settings=settings)
        return make_plan(spec, chosen, cache, prices=prices)


def _shot(shot: Shot, item: Any, preview: Any, plan: Any, cache_dir: Path | None) -> ShotView:
    from shotbuild.plan import FAILED, UP_TO_DATE, Render, Resume

    job = item.previous if isinstance(item, Render) else None
    job = item.job if isinstance(item, Resume) else job
    message = job.failure_message or job.failure_code if item.status == FAILED and job else None
    return ShotView(
        name=shot.name,
        prompt=shot.prompt,
        title=shot.title,
        looks=shot.avatar_id,
        aspect_ratio=shot.aspect_ratio,
        resolution=shot.resolution,
        duration="auto" if shot.auto_duration or shot.duration is None else f"{shot.duration} s",
        status=item.status,
        reason=item.reason,
        fields=tuple(item.fields),
        message=message,
        seconds=float(plan.seconds_among([item])),  # extra takes included
        takes=_takes(plan.build_dir, shot.name, plan.takes.shots.get(shot.name), cache_dir),
        wanted=_wanted(shot),
        preview=Path(preview.output).is_file(),
        preview_current=preview.status == UP_TO_DATE,
        references=tuple(_thumb(i, ref) for i, ref in enumerate(shot.references)),
        renders=plan.renders_of(item),
        cost=_money(plan.cost_of(item)) if plan.renders_of(item) else "",
    )


def _sequences(
    spec: Spec, shots: tuple[ShotView, ...], paid: Any, preview: Any
) -> tuple[SequenceView, ...]:
    if not spec.sequences:
        return ()
    from shotbuild.sequences.plan import plan_of

    by_name = {s.name: s for s in shots}
    paid_cuts = {c.name: c for c in plan_of(paid, "")}
    preview_cuts = {c.name: c for c in plan_of(preview, "preview")}
    return tuple(
        _sequence(seq, paid_cuts[seq.name], preview_cuts[seq.name], by_name)
        for seq in spec.sequences
    )


def _sequence(seq: Sequence, cut: Any, preview: Any, shots: Mapping[str, ShotView]) -> SequenceView:
    shown = CUT if _current(cut) else PREVIEW if _current(preview) else None
    members = tuple(
        MemberView(m.shot, _member_media(shots[m.shot]), m.start, m.end) for m in seq.members
    )
    status = cut.status.value
    return SequenceView(seq.name, members, status, cut.reason, tuple(cut.missing), shown)


def _current(cut: Any) -> bool:
    from shotbuild.sequences.plan import SequenceStatus

    return cut.status is SequenceStatus.UP_TO_DATE and Path(cut.path).is_file()


def _member_media(shot: ShotView) -> str | None:
    """What a sequence plays of `shot`: its picked take if here, else its preview."""
    picked = shot.picked
    if picked is not None and picked.available:
        return str(picked.number)
    return PREVIEW if shot.preview else None


def _takes(
    build_dir: Path, name: str, shot: ShotTakes | None, cache_dir: Path | None
) -> tuple[Take, ...]:
    """Every take of the shot in the lock, by number; which is picked, which is here."""
    if shot is None:
        return ()
    return tuple(
        _take(n, n == shot.pick, take_file(build_dir, name, n, entry, cache_dir), entry)
        for n, entry in sorted(shot.takes.items())
    )


def _take(number: int, picked: bool, found: Path | None, entry: LockEntry) -> Take:
    here = found is not None
    return Take(number, picked, here, entry.video_id, entry.duration, entry.built_at, entry.origin)


def _wanted(shot: Shot) -> int:
    return int(getattr(shot, "takes", 1))  # the takes field arrives with the takes issue


def _thumb(index: int, ref: Reference) -> Thumb:
    label = ref.path or ref.url or ref.asset_id or (ref.media_type or "inline data")
    served = ref.kind == "image" and (
        (ref.type == "file" and Path(ref.path or "").suffix.lower() in IMAGE_TYPES)
        or (ref.type == "base64" and (ref.media_type or "") in IMAGE_TYPES.values())
    )
    return Thumb(index, ref.kind, label, served)


# -- what the server hands out: media and references by name, never by a request path --


def _spec_shot(spec: Spec, name: str) -> Shot:
    try:
        return spec.shot(name)
    except KeyError:
        raise ReviewError(f"no shot named {name!r} in {spec.path.name}") from None


def media_path(spec: Spec, name: str, take: str, cache_dir: Path | None = None) -> Path:
    """The file of shot `name`'s take `take` ("1".."999" or "preview"), checked against
    the spec and the lock; ReviewError when either does not have it, or when the
    take's bytes are not on this machine (media.take_file says where it looks)."""
    name = _spec_shot(spec, name).name
    if take != PREVIEW:
        return _take_path(spec, name, take, cache_dir)
    path = spec.build_dir / PREVIEW / f"{name}.mp4"
    if not path.is_file():
        raise ReviewError(f"shot {name!r} has no preview video in the build folder")
    return path


def _take_path(spec: Spec, name: str, take: str, cache_dir: Path | None) -> Path:
    number, entry = _take_number(spec, name, take)
    found = take_file(spec.build_dir, name, number, entry, cache_dir)
    if found is None:
        raise ReviewError(
            f"take {number} of shot {name!r} is not on this machine:"
            f" `shotbuild pick {name} {number}` fetches it (no render) and makes it the output"
        )
    return found


def cut_path(spec: Spec, name: str, kind: str) -> Path:
    """The assembled file of sequence `name` (`kind` CUT: the paid cut, PREVIEW: the
    preview cut), checked against the spec; ReviewError when it has no such file."""
    if name not in {s.name for s in spec.sequences}:
        raise ReviewError(f"no sequence named {name!r} in {spec.path.name}")
    if kind not in (CUT, PREVIEW):
        raise ReviewError(f"sequence {name!r} has no {kind!r} cut: use {CUT} or {PREVIEW}")
    folder = spec.build_dir / PREVIEW if kind == PREVIEW else spec.build_dir
    path = folder / f"{name}.mp4"
    if not path.is_file():
        raise ReviewError(f"sequence {name!r} has no {kind} cut in the build folder")
    return path


def _take_number(spec: Spec, name: str, take: str) -> tuple[int, LockEntry]:
    """Take `take` ("1".."999", as written in a URL) of shot `name` in the lock now:
    its number and its lock entry; ReviewError when the lock has no such take."""
    from shotbuild.store.lock import read_lock_file

    number = int(take) if take.isascii() and take.isdigit() and take[0] != "0" else 0
    shot = read_lock_file(spec.lock_path).shots.get(name) if 0 < number <= MAX_TAKE_NUMBER else None
    if shot is None or number not in shot.takes:
        raise ReviewError(f"shot {name!r} has no take {take!r} on record")
    return number, shot.takes[number]


def reference_image(spec: Spec, name: str, index: int) -> tuple[bytes, str]:
    """The bytes and media type of shot `name`'s reference `index`, when it is an image."""
    shot = _spec_shot(spec, name)
    if not 0 <= index < len(shot.references) or not _thumb(index, shot.references[index]).served:
        raise ReviewError(f"shot {name!r} has no image reference {index}")
    ref = shot.references[index]
    if ref.type == "base64":
        try:
            data = base64.b64decode(ref.data or "", validate=True)
        except (binascii.Error, ValueError):
            raise ReviewError(f"shot {name!r}: reference {index} is not valid base64") from None
        if len(data) > MAX_INLINE_IMAGE:
            raise ReviewError(f"shot {name!r}: reference {index} is too large to show")
        return data, ref.media_type or "image/png"
    path = spec.root / (ref.path or "")
    try:
        return path.read_bytes(), IMAGE_TYPES[path.suffix.lower()]
    except OSError:
        raise ReviewError(f"shot {name!r}: reference {ref.path} cannot be read") from None


def pick(
    spec: Spec,
    name: str,
    take: int,
    cache_dir: Path | None = None,
    *,
    settings: Settings | None = None,
    cuts: bool = True,
) -> Take:
    """Make take `take` shot `name`'s pick: the same code path as `shotbuild pick`
    (shotbuild.picking): the lock's pick changes and the take's video is put at
    build/<shot>.mp4, never rendered; `cuts` False leaves the cuts with the shot for
    the caller to assemble. Picking the take already picked changes nothing.
    ReviewError when the shot or the take is not there."""
    from shotbuild.store.lock import read_lock_file

    name = _spec_shot(spec, name).name
    number, entry = _take_number(spec, name, str(take))
    if read_lock_file(spec.lock_path).shots[name].pick != number:
        chosen = settings if settings is not None else Project(spec.path).read_settings()
        entry = _switch(spec, name, number, cache_dir, chosen, cuts)
    return _take(number, True, take_file(spec.build_dir, name, number, entry, cache_dir), entry)


def _switch(
    spec: Spec, name: str, take: int, cache_dir: Path | None, settings: Settings, cuts: bool
) -> Any:
    from shotbuild.backends import get_backend
    from shotbuild.picking import PickError
    from shotbuild.picking import pick as pick_take
    from shotbuild.store.cache import Cache

    remote = settings.remote.open()
    with Cache(cache_dir) as cache:
        backend = get_backend(cache=cache, settings=settings._replace(backend="heygen"))
        try:
            picked = pick_take(spec, backend, cache, name, take, remote=remote, cuts=cuts)
        except PickError as e:
            raise ReviewError(str(e)) from None
    if not picked.ok:
        raise ShotbuildError(f"{name}: take {take} is picked, but: {picked.result.failed[0][1]}")
    return picked.entry


def with_assembly(model: ReviewModel, states: Mapping[str, tuple[str, str]]) -> ReviewModel:
    """`model` with each sequence's background re-assembly (name -> (state, error)) shown."""
    if not states:
        return model
    cuts = tuple(
        replace(seq, assembly=states[seq.name][0], assembly_error=states[seq.name][1])
        if seq.name in states
        else seq
        for seq in model.sequences
    )
    return replace(model, sequences=cuts)
