"""The review page without a browser: the view model over a real build, the
media and pick checks, and the server's guards (token, origin, host)."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shotbuild.cli import main
from shotbuild.errors import ShotbuildError
from shotbuild.plan import Plan
from shotbuild.review.model import (
    CUT,
    PREVIEW,
    MemberView,
    Project,
    ReviewError,
    build_model,
    cut_path,
    media_path,
    pick,
    reference_image,
)
from shotbuild.spec import load_spec
from shotbuild.spec.model import Spec
from shotbuild.store.lock import read_lock_file
from tests.review_fixtures import PAID, SEQUENCE, SHOTS, built_project, copy_project, planner_for

pytest.importorskip("watchfiles")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    with built_project(tmp_path_factory.mktemp("review") / "project") as found:
        yield found


@pytest.fixture
def project(built: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A fresh copy of the built project for each test (tests may edit it)."""
    spec, origin = built
    monkeypatch.setenv("HEYGEN_BASE_URL", origin)  # a pick fetches by video_id from there
    monkeypatch.setenv("HEYGEN_API_KEY", "test-key")
    copied = copy_project(spec, tmp_path / "p")
    return Project(copied, planner=planner_for(spec, origin), cache_dir=spec.parent / ".cache")


def test_model_lists_every_shot_in_spec_order_with_takes_and_previews(project: Project) -> None:
    model = build_model(project)
    assert model.error is None
    assert [s.name for s in model.shots] == list(SHOTS)
    paid = model.shots[0]
    assert paid.name == PAID and paid.status == "up to date" and paid.seconds == 0
    here = [(t.number, t.picked, t.available) for t in paid.takes]
    assert here == [(1, True, True), (2, False, True), (3, False, False)]  # 2: cache; 3: nowhere
    assert paid.picked is paid.takes[0] and len({t.video_id for t in paid.takes}) == 3
    for shot in model.shots[1:]:
        assert shot.takes == () and shot.status == "new" and shot.reason == "never built"
        assert shot.preview and shot.preview_current and shot.seconds == 4
    assert (model.renders, model.seconds, model.cost) == (2, 8, "$14.00")  # the plan's money
    assert [(s.renders, s.cost) for s in model.shots] == [(0, ""), (1, "$7.00"), (1, "$7.00")]
    walk = model.shots[1]
    assert walk.looks == ("look_founder", "look_cofounder")
    assert [(r.kind, r.served) for r in walk.references] == [("image", True), ("video", False)]


def test_takes_wanted_are_priced_on_the_page(project: Project) -> None:
    text = project.spec_path.read_text()
    title = "    title: Launch teaser - cold open\n"
    project.spec_path.write_text(text.replace(title, title + "    takes: 5\n"))
    model = build_model(project)
    paid = model.shots[0]  # 3 takes on record, 5 wanted: 2 renders of 4 s
    assert (paid.status, paid.wanted, paid.renders) == ("up to date", 5, 2)
    assert (paid.seconds, paid.cost) == (8, "$14.00")
    assert (model.renders, model.seconds, model.cost) == (4, 16, "$28.00")


def test_a_changed_shot_says_which_fields_and_its_preview_is_stale(project: Project) -> None:
    text = project.spec_path.read_text().replace("She looks up", "He looks up")
    project.spec_path.write_text(text)
    shot = build_model(project).shots[0]
    assert shot.status == "changed" and shot.fields == ("prompt",)
    assert shot.reason == "prompt changed" and shot.seconds == 4
    assert shot.takes[0].picked  # the take on record stays until a build replaces it
    assert not shot.preview_current


def test_a_spec_that_cannot_be_read_gives_an_error_model(project: Project) -> None:
    project.spec_path.write_text("version: 1\nshots: {bad: {}}\n")
    model = build_model(project)
    assert model.shots == () and model.error and "prompt" in model.error


def test_the_digest_follows_the_content(project: Project) -> None:
    first = build_model(project).to_json()["digest"]
    assert build_model(project).to_json()["digest"] == first
    (project.spec_path.parent / "build" / "preview" / "sign-off.mp4").unlink()
    assert build_model(project).to_json()["digest"] != first


def test_media_is_found_by_shot_and_take_only(project: Project) -> None:
    spec = load_spec(project.spec_path)
    takes = read_lock_file(spec.lock_path).shots[PAID].takes
    assert media_path(spec, PAID, "1", project.cache_dir) == spec.build_dir / f"{PAID}.mp4"
    second = media_path(spec, PAID, "2", project.cache_dir)  # the local cache's blob
    assert second.name == takes[2].sha256 and _sha256(second) == takes[2].sha256
    assert media_path(spec, "sign-off", "preview", project.cache_dir).name == "sign-off.mp4"
    with pytest.raises(ReviewError, match=f"not on this machine: `shotbuild pick {PAID} 3`"):
        media_path(spec, PAID, "3", project.cache_dir)
    for name, take in [
        ("nope", "1"),
        ("sign-off", "1"),  # no take on record
        (PAID, "99"),
        (PAID, "01"),
        (PAID, "\u0661"),  # a digit, but not an ASCII one
        (PAID, "../shots"),
        ("../build", "preview"),
    ]:
        with pytest.raises(ReviewError):
            media_path(spec, name, take, project.cache_dir)


def test_a_take_in_build_takes_is_served_from_there(project: Project) -> None:
    spec = load_spec(project.spec_path)
    entry = read_lock_file(spec.lock_path).shots[PAID].takes[2]
    folder = spec.build_dir / "takes" / PAID
    folder.mkdir(parents=True)
    shutil.copy(media_path(spec, PAID, "2", project.cache_dir), folder / "2.mp4")
    assert media_path(spec, PAID, "2", project.cache_dir) == folder / "2.mp4"
    (folder / "2.mp4").write_bytes(b"x" * entry.size)  # same size, other bytes: not the take
    assert media_path(spec, PAID, "2", project.cache_dir).name == entry.sha256


def test_a_take_is_not_found_through_a_link(project: Project, tmp_path: Path) -> None:
    spec = load_spec(project.spec_path)
    blob = media_path(spec, PAID, "2", project.cache_dir)
    outside = tmp_path / "outside"
    (outside / PAID).mkdir(parents=True)
    shutil.copy(blob, outside / PAID / "2.mp4")
    (spec.build_dir / "takes").symlink_to(outside)  # build/takes -> a folder elsewhere
    (spec.build_dir / f"{PAID}.mp4").unlink()
    (spec.build_dir / f"{PAID}.mp4").symlink_to(outside / PAID / "2.mp4")
    assert media_path(spec, PAID, "2", project.cache_dir) == blob  # neither link is followed
    assert (
        media_path(spec, PAID, "1", project.cache_dir).parent
        == blob.parent.parent / (read_lock_file(spec.lock_path).shots[PAID].takes[1].sha256[:2])
    )  # take 1: its blob, not the linked file


def test_a_first_look_hashes_no_take_the_build_or_this_machine_stamped(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from shotbuild.review import media

    hashed: list[Path] = []
    real = media._digest

    def digest(path: Path) -> str | None:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(media, "_digest", digest)
    monkeypatch.setattr(media, "_hashed", {})  # as in a new `shotbuild review`
    monkeypatch.setattr(media, "_manifests", {})
    spec = load_spec(project.spec_path)
    blob = media_path(spec, PAID, "2", project.cache_dir)  # take 2: in the local cache only
    assert hashed in ([], [blob])  # hashed at most once on this machine, then its stamp is kept
    hashed.clear()
    media._hashed.clear()
    here = [t.available for t in build_model(project).shots[0].takes]
    assert here == [True, True, False] and hashed == []  # take 1: the manifest's stamp
    output = spec.build_dir / f"{PAID}.mp4"
    copy = output.with_name("copy.mp4")
    shutil.copy(output, copy)
    os.replace(copy, output)  # the same bytes in a new file: the manifest's stamp is not its
    assert [t.available for t in build_model(project).shots[0].takes] == here
    assert hashed == [output]


def test_reference_images_by_index(project: Project) -> None:
    spec = load_spec(project.spec_path)
    data, kind = reference_image(spec, "office-walk", 0)
    assert kind == "image/jpeg" and data[:2] == b"\xff\xd8"
    for name, index in [("office-walk", 1), ("office-walk", 2), ("cold-open", 0), ("x", 0)]:
        with pytest.raises(ReviewError):
            reference_image(spec, name, index)


def test_pick_checks_the_shot_and_the_take(project: Project) -> None:
    spec = load_spec(project.spec_path)
    lock_before = spec.lock_path.read_bytes()
    assert pick(spec, PAID, 1).number == 1
    for name, take in [(PAID, 99), ("sign-off", 1), ("nope", 1)]:
        with pytest.raises(ReviewError):
            pick(spec, name, take)
    assert spec.lock_path.read_bytes() == lock_before  # take 1 was picked: nothing changed


def test_picking_a_take_in_the_cache_puts_it_in_place(project: Project) -> None:
    spec = load_spec(project.spec_path)
    second = read_lock_file(spec.lock_path).shots[PAID].takes[2]
    picked = pick(spec, PAID, 2, project.cache_dir)
    assert (picked.number, picked.picked, picked.available) == (2, True, True)
    assert read_lock_file(spec.lock_path).shots[PAID].pick == 2
    assert _sha256(spec.build_dir / f"{PAID}.mp4") == second.sha256
    assert media_path(spec, PAID, "2", project.cache_dir) == spec.build_dir / f"{PAID}.mp4"


# -- the server's guards ------------------------------------------------------------------


@pytest.fixture
def server(project: Project) -> Iterator[tuple[str, str]]:
    from shotbuild.review.server import serve_in_thread

    with serve_in_thread(project) as where:
        yield where.base, where.token


def _pick(base: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/api/pick", content=json.dumps(body), headers=headers)


def test_reads_need_the_token(server: tuple[str, str]) -> None:
    base, token = server
    assert httpx.get(f"{base}/").status_code == 403
    assert httpx.get(f"{base}/?t=wrong").status_code == 403
    assert httpx.get(f"{base}/api/model").status_code == 403
    assert httpx.get(f"{base}/media/{PAID}/1").status_code == 403
    page = httpx.get(f"{base}/?t={token}")
    assert page.status_code == 200 and "review.js" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert httpx.get(f"{base}/review.js").status_code == 200  # the page's own code: no secret
    assert httpx.get(f"{base}/shots.yaml").status_code == 404
    video = httpx.get(f"{base}/media/{PAID}/1?t={token}", headers={"Range": "bytes=0-99"})
    assert video.status_code == 206 and len(video.content) == 100


def test_the_model_answers_only_its_digest_when_nothing_changed(server: tuple[str, str]) -> None:
    base, token = server
    doc = httpx.get(f"{base}/api/model", params={"t": token}).json()
    assert [s["name"] for s in doc["shots"]] == list(SHOTS)
    again = httpx.get(f"{base}/api/model", params={"t": token, "since": doc["digest"]}).json()
    assert again == {"digest": doc["digest"]}


def test_a_pick_needs_the_token_and_the_same_origin(server: tuple[str, str]) -> None:
    base, token = server
    body = {"shot": PAID, "take": 1}
    good = {"X-Review-Token": token, "Origin": base}
    assert _pick(base, body).status_code == 403
    assert _pick(base, body, Origin=base).status_code == 403  # no token
    in_query = httpx.post(f"{base}/api/pick?t={token}", json=body, headers={"Origin": base})
    assert in_query.status_code == 403  # a change needs the header, not the URL
    assert _pick(base, body, **{"X-Review-Token": token}).status_code == 403  # no Origin
    evil = {"X-Review-Token": token, "Origin": "http://evil.example"}
    assert _pick(base, body, **evil).status_code == 403
    cross = {**good, "Sec-Fetch-Site": "cross-site"}
    assert _pick(base, body, **cross).status_code == 403
    answer = _pick(base, body, **good)
    assert answer.status_code == 200 and answer.json() == {"shot": PAID, "take": 1}
    assert _pick(base, {"shot": PAID, "take": 99}, **good).status_code == 404
    assert _pick(base, {"shot": "../x", "take": 1}, **good).status_code == 400
    assert _pick(base, {"shot": PAID, "take": True}, **good).status_code == 400
    assert _pick(base, [1, 2], **good).status_code == 400


def test_every_take_here_is_served_with_ranges_and_nothing_else(
    server: tuple[str, str], project: Project
) -> None:
    base, token = server
    takes = read_lock_file(project.spec_path.with_suffix(".lock")).shots[PAID].takes
    whole = httpx.get(f"{base}/media/{PAID}/2?t={token}")
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == takes[2].sha256
    part = httpx.get(f"{base}/media/{PAID}/2?t={token}", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == whole.content[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{takes[2].size}"
    missing = httpx.get(f"{base}/media/{PAID}/3?t={token}")
    assert missing.status_code == 404 and f"shotbuild pick {PAID} 3" in missing.json()["error"]
    for path in [
        f"media/{PAID}/99",
        "media/not-a-shot/1",
        "media/sign-off/1",  # in the spec, no take on record
        f"media/{PAID}/..%2F..%2Fshots.lock",
        f"media/{PAID}/%2e%2e",
        "media/..%2Fshots.yaml/1",
        "media/%2e%2e/preview",
        f"media/{PAID}/{takes[2].sha256}",
    ]:
        answer = httpx.get(f"{base}/{path}?t={token}")
        assert answer.status_code == 404, path
        assert len(answer.content) < 400 and b"ftyp" not in answer.content, path  # no video
        assert b"format_version" not in answer.content, path  # nor the lock


def test_a_request_for_another_host_name_is_refused(server: tuple[str, str]) -> None:
    base, token = server  # DNS rebinding: evil.example resolving to 127.0.0.1
    answer = httpx.get(f"{base}/api/model?t={token}", headers={"Host": "evil.example"})
    assert answer.status_code == 400


# -- sequences -----------------------------------------------------------------------------


def test_a_sequence_lists_its_members_media_and_trims_and_waits_for_its_shots(
    project: Project,
) -> None:
    model = build_model(project)
    (seq,) = model.sequences
    assert seq.name == SEQUENCE
    assert seq.members == (
        MemberView(PAID, "1", 1.0, 2.5),  # the picked paid take
        MemberView("office-walk", PREVIEW, None, None),  # no paid take: its preview
    )
    assert seq.status == "waiting for shots" and seq.waits_for == ("office-walk",)
    assert seq.reason == "waiting for office-walk"
    assert seq.cut == PREVIEW  # the preview build assembled the preview cut; it is current
    assert model.to_json()["sequences"][0]["members"][0] == {
        "shot": PAID,
        "media": "1",
        "start": 1.0,
        "end": 2.5,
    }


def test_a_stale_preview_cut_is_not_offered(project: Project) -> None:
    text = project.spec_path.read_text().replace("in: 1, out: 2.5", "in: 0.5, out: 2.5")
    project.spec_path.write_text(text)
    (seq,) = build_model(project).sequences
    assert seq.members[0] == MemberView(PAID, "1", 0.5, 2.5)
    assert seq.cut is None  # the preview cut on disk has the old trims


def test_a_member_with_nothing_to_play_has_no_media(project: Project) -> None:
    (project.spec_path.parent / "build" / "preview" / "office-walk.mp4").unlink()
    (seq,) = build_model(project).sequences
    assert seq.members[1].media is None and seq.cut is None


def test_cuts_are_found_by_sequence_name_and_kind_only(project: Project) -> None:
    spec = load_spec(project.spec_path)
    assert cut_path(spec, SEQUENCE, PREVIEW) == spec.build_dir / "preview" / f"{SEQUENCE}.mp4"
    for name, kind in [
        (SEQUENCE, CUT),  # never assembled: a shot is still waiting
        (PAID, PREVIEW),  # a shot, not a sequence
        ("nope", PREVIEW),
        ("../build", PREVIEW),
        (SEQUENCE, "../teaser"),
        (SEQUENCE, "1"),
    ]:
        with pytest.raises(ReviewError):
            cut_path(spec, name, kind)


def test_the_server_serves_a_cut_by_name_with_the_token(project: Project) -> None:
    from shotbuild.review.server import serve_in_thread

    with serve_in_thread(project) as served:
        url = f"{served.base}/cut/{SEQUENCE}/{PREVIEW}"
        assert httpx.get(url).status_code == 403
        answer = httpx.get(url, params={"t": served.token})
        assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
        assert len(answer.content) > 1000
        missing = httpx.get(f"{served.base}/cut/{SEQUENCE}/{CUT}", params={"t": served.token})
        assert missing.status_code == 404 and "no cut cut" in missing.json()["error"]


# -- the command ---------------------------------------------------------------------------


def test_static_export_writes_the_page_and_its_media(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOTBUILD_CACHE_DIR", str(project.cache_dir))  # where take 2 is
    out = tmp_path / "site"
    assert main(["review", str(project.spec_path), "--static", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (out / "index.html").resolve().as_uri()
    script = (out / "model.js").read_text()
    doc = json.loads(script.removeprefix("window.REVIEW = ").removesuffix(";\n"))
    assert doc["mode"] == "static" and doc["media"][PAID] == {  # take 3 is not on this machine
        "1": f"media/{PAID}/1.mp4",
        "2": f"media/{PAID}/2.mp4",
        "preview": f"media/{PAID}/preview.mp4",
    }
    blob = media_path(load_spec(project.spec_path), PAID, "2", project.cache_dir)
    assert not (out / f"media/{PAID}/2.mp4").samefile(
        blob
    )  # copied: the cache's blob stays its own
    assert (out / f"media/{PAID}/2.mp4").read_bytes() == blob.read_bytes()
    assert doc["refs"]["office-walk"] == {"0": "refs/office-walk/0.jpeg"}
    assert doc["cuts"] == {SEQUENCE: f"cuts/{SEQUENCE}/preview.mp4"}
    assert doc["model"]["sequences"][0]["name"] == SEQUENCE
    shutil.rmtree(project.spec_path.parent / "build")
    assert (out / f"media/{PAID}/1.mp4").stat().st_size > 1000  # its own link or copy
    assert (out / f"cuts/{SEQUENCE}/preview.mp4").stat().st_size > 1000
    assert "<script>" not in script  # spec text is JSON-escaped in the script
    assert {"index.html", "review.js", "review.css"} <= {p.name for p in out.iterdir()}


def test_review_of_a_missing_spec_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", str(tmp_path / "nope.yaml"), "--no-open"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_a_port_in_use_is_one_line(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    from shotbuild.review.server import bind

    with bind() as busy:
        port = str(busy.getsockname()[1])
        assert main(["review", str(project.spec_path), "--no-open", "--port", port]) == 1
    assert "choose another --port" in capsys.readouterr().err


def test_pick_errors_are_shotbuild_errors() -> None:
    assert issubclass(ReviewError, ShotbuildError)


def test_a_failed_render_shows_heygen_s_message(project: Project) -> None:
    from dataclasses import replace

    from shotbuild.plan import FAILED, Render, ShotItem
    from shotbuild.reasons import Code, Reason
    from shotbuild.store.cache import JobRecord

    inner = project.planner
    assert inner is not None
    job = JobRecord("k", "sign-off", "o", "i", 1, "failed", "v1", None, "BAD", "face not found")

    def planner(spec: Spec, backend: str) -> Plan:
        plan = inner(spec, backend)
        if backend != "heygen":
            return plan
        items = tuple(
            Render(
                name=i.name,
                status=FAILED,
                why=Reason(Code.RENDER_FAILED, facts={"failure": "BAD: face not found"}),
                output=i.output,
                seconds=10.0,
                key=i.key,
                shot=i.shot,
                request=i.request,
                previous=job,
            )
            if i.name == "sign-off" and isinstance(i, ShotItem)
            else i
            for i in plan.items
        )
        return plan.replace(items=items)

    shot = build_model(replace(project, planner=planner)).shots[2]
    assert (shot.status, shot.message) == (FAILED, "face not found")


def test_watch_renders_the_preview_of_a_changed_shot_again(project: Project) -> None:
    from dataclasses import replace

    from shotbuild.review.server import serve_in_thread

    preview = project.spec_path.parent / "build" / "preview" / "office-walk.mp4"
    before = preview.stat().st_ino
    text = project.spec_path.read_text().replace("sunlit office", "dark office")
    with serve_in_thread(replace(project, watch=True)) as where:
        doc = httpx.get(f"{where.base}/api/model", params={"t": where.token}).json()
        assert doc["watch"] is True and doc["shots"][1]["preview_current"]
        project.spec_path.write_text(text)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            doc = httpx.get(f"{where.base}/api/model", params={"t": where.token}).json()
            shots = doc["shots"]  # none in a model read while write_text had emptied the spec
            shot = shots[1] if len(shots) > 1 else {"prompt": "", "preview_current": False}
            if "dark office" in shot["prompt"] and shot["preview_current"]:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the preview was not rendered again: {doc['shots']}")
    assert preview.stat().st_ino != before  # a new file (the build replaces, never edits)
    # a preview render only: the paid shot still has its one take, and the lock is as it was
    assert doc["shots"][0]["takes"][0]["picked"] and doc["shots"][1]["takes"] == []
    assert doc["shots"][1]["status"] == "new"


def test_the_export_of_a_spec_that_cannot_be_read_says_why(
    project: Project, tmp_path: Path
) -> None:
    from shotbuild.review.export import export

    project.spec_path.write_text("version: 1\nshots: {bad: {}}\n")
    with pytest.raises(ShotbuildError, match=r"(?s)cannot export the review: .*missing prompt"):
        export(project, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_pick_during_a_preview_render_waits_for_it_and_goes_through(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--watch renders a changed shot's preview, which holds the spec's build lock; a
    pick from the page meanwhile waits for it (its button says "picking...") instead
    of being refused, and is made once the render lets go."""
    import threading
    from dataclasses import replace

    import shotbuild.build as engine
    import shotbuild.picking  # noqa: F401  (bound to the real build before the patch)
    from shotbuild.backends.preview import PreviewBackend
    from shotbuild.review.server import serve_in_thread
    from shotbuild.store.cache import Cache

    rendering, finish = threading.Event(), threading.Event()
    real = engine.build

    def slow_preview(spec: Spec, backend: object, *args: object, **kw: object) -> object:
        if not isinstance(backend, PreviewBackend):
            return real(spec, backend, *args, **kw)  # type: ignore[arg-type]
        with Cache(project.cache_dir) as cache, cache.spec_lock(spec.path, timeout=0.0):
            rendering.set()  # what a preview render holds, as long as it renders
            assert finish.wait(60), "the test never let the render finish"
        return None

    monkeypatch.setattr(engine, "build", slow_preview)
    text = project.spec_path.read_text().replace("sunlit office", "dark office")
    answers: list[httpx.Response] = []
    with serve_in_thread(replace(project, watch=True)) as where:
        project.spec_path.write_text(text)  # its preview is stale: rendered again
        assert rendering.wait(60), "no preview render started"
        headers = {"X-Review-Token": where.token, "Origin": where.base}
        picking = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{where.base}/api/pick",
                    content=json.dumps({"shot": PAID, "take": 2}),
                    headers=headers,
                    timeout=60,
                )
            )
        )
        picking.start()
        picking.join(1.0)
        assert picking.is_alive() or answers[0].status_code == 200, answers[0].text
        assert picking.is_alive(), "the pick did not wait for the render"
        finish.set()
        picking.join(60)
    assert [a.status_code for a in answers] == [200], [a.text for a in answers]
    assert answers[0].json() == {"shot": PAID, "take": 2}
    assert read_lock_file(project.spec_path.with_suffix(".lock")).shots[PAID].pick == 2


def test_a_pick_waits_for_one_preview_render_only_so_long() -> None:
    import threading

    from shotbuild.review.live import Turns

    turns, rendering, done = Turns(), threading.Event(), threading.Event()

    def render() -> None:
        with turns.render():
            rendering.set()
            done.wait(10)

    thread = threading.Thread(target=render)
    thread.start()
    assert rendering.wait(10)
    refused = pytest.raises(ShotbuildError, match="a preview render still holds the spec")
    with refused, turns.pick(wait=0.05):
        pytest.fail("picked while a preview render held the spec")
    done.set()
    thread.join(10)
    with turns.pick(wait=0.05):
        pass  # the render let go: the pick's turn at once
