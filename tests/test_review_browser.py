"""The review page in a real browser: Playwright's sync API driving Debian's
Chromium (launched by path; Playwright's own browser download is not used).
The `browser` fixture (tests/conftest.py) skips them, with the reason, where
Chromium or Playwright is missing; `.ci/run` installs Chromium so CI runs them."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from shotbuild.review.model import Project
from tests.review_fixtures import (
    PAID,
    SEQUENCE,
    SHOTS,
    SOLO,
    TAKES,
    SlowAssembler,
    built_project,
    copy_project,
    planner_for,
    with_solo_cut,
)

LIVE_SECONDS = 2.0  # the page follows a change on disk within this

pytestmark = pytest.mark.browser  # the `browser` fixture (tests/conftest.py) skips without it


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    with built_project(tmp_path_factory.mktemp("review-browser") / "project") as found:
        yield found


@pytest.fixture
def project(built: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    spec, origin = built
    monkeypatch.setenv("HEYGEN_BASE_URL", origin)  # a pick fetches by video_id from there
    monkeypatch.setenv("HEYGEN_API_KEY", "test-key")
    copied = copy_project(spec, tmp_path / "p")
    return Project(copied, planner=planner_for(spec, origin), cache_dir=spec.parent / ".cache")


@pytest.fixture
def served(project: Project) -> Iterator[Any]:
    from shotbuild.review.server import serve_in_thread

    with serve_in_thread(project) as where:
        yield where


class Watched:
    """A page that records console errors and every request's URL."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.urls.append(r.url))

    def check_clean(self) -> None:
        assert self.errors == []
        for url in self.urls:
            parts = urlparse(url)
            assert parts.scheme in ("file", "data") or parts.hostname == "127.0.0.1", url


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = Watched(context.new_page())
    yield page
    context.close()
    page.check_clean()  # no console errors, nothing fetched beyond 127.0.0.1 / file:


@pytest.fixture
def page(served: Any, watched: Watched) -> Iterator[Any]:
    """The review page, open and loaded; closed before its server stops."""
    watched.page.goto(served.url)
    watched.page.wait_for_selector(f"section.shot[data-name='{SHOTS[-1]}']")
    yield watched.page
    watched.page.close()


def _screenshot(page: Any, selector: str, path: Path) -> None:
    """A screenshot of the element; taken again if the page's next poll re-rendered
    it meanwhile (Playwright: "Element is not attached to the DOM")."""
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            page.locator(selector).screenshot(path=str(path))
            return
        except Error as e:
            if attempt == 2 or "not attached" not in str(e):
                raise


def _plays(page: Any, selector: str) -> None:
    """The video plays past 0.3 s. A poll of the page may re-render it meanwhile (a
    new, paused element): that one is played too."""
    page.eval_on_selector(selector, "v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        """sel => {
            const v = document.querySelector(sel);
            if (v === null) return false;
            if (v.paused && v.currentTime === 0) { v.muted = true; v.play().catch(() => {}); }
            return v.currentTime > 0.3;
        }""",
        arg=selector,
        timeout=10_000,
    )


def test_every_shot_appears_in_order_with_its_takes(page: Any) -> None:
    names = page.eval_on_selector_all("section.shot", "ns => ns.map(n => n.dataset.name)")
    assert names == list(SHOTS)
    paid = page.locator(f"section.shot[data-name='{PAID}']")
    players = paid.locator(".players > .player")
    assert players.evaluate_all("ps => ps.map(p => p.dataset.take)") == ["1", "2", "3", "preview"]
    assert paid.locator(".player.take.picked .badge").inner_text() == "TAKE 1 \u2713"
    assert paid.locator(".player.take.picked video.main").count() == 1
    assert paid.locator(".preview-player .badge").inner_text() == "PREVIEW"
    assert "up to date" in paid.locator(".status").inner_text()
    assert "takes on record: 3" in paid.locator(".record").inner_text()
    for name in SHOTS[1:]:
        shot = page.locator(f"section.shot[data-name='{name}']")
        assert shot.locator(".frame .badge").inner_text() == "PREVIEW"
        assert shot.locator(".status").inner_text() == "new"
        assert "a build would render 4 s" in shot.locator(".record").inner_text()
    walk = page.locator("section.shot[data-name='office-walk']")
    assert walk.locator("img.ref").evaluate("i => i.complete && i.naturalWidth > 0")
    assert "dolly-walk.mp4" in walk.locator(".ref.label").inner_text()
    summary = page.locator("#summary").inner_text()
    assert "3 shots" in summary and "2 renders, 8 s of video, $14.00" in summary


def test_spec_text_is_shown_as_text_never_run(page: Any) -> None:
    prompt = page.locator("section.shot[data-name='sign-off'] .prompt").inner_text()
    assert "<script>window.__pwned = 1</script> & <b>bold</b>" in prompt
    assert page.evaluate("window.__pwned") is None
    assert page.locator("section.shot b").count() == 0


def test_a_video_plays(page: Any) -> None:
    _plays(page, f"section.shot[data-name='{PAID}'] video.main")
    _plays(page, "section.shot[data-name='sign-off'] video.main")


def test_the_other_takes_play_beside_the_picked_one(page: Any) -> None:
    paid = f"section.shot[data-name='{PAID}']"
    boxes = [page.locator(f"{paid} .player[data-take='{n}']").bounding_box() for n in TAKES]
    assert all(b is not None for b in boxes)
    assert len({round(b["y"]) for b in boxes}) == 1  # side by side, in one row
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    second = f"{paid} .player[data-take='2'] video"
    assert page.eval_on_selector(second, "v => v.src").split("?")[0].endswith(f"/media/{PAID}/2")
    _plays(page, second)  # not the picked take: served from the local cache by its sha256
    assert page.locator(f"{paid} .player[data-take='2'] button.pick").inner_text() == "pick 2"
    third = page.locator(f"{paid} .player[data-take='3']")
    assert third.locator("video").count() == 0  # no broken player for bytes not here
    assert "not on this machine" in third.inner_text()
    assert f"shotbuild pick {PAID} 3" in third.inner_text()
    assert third.locator("button.pick").is_enabled()


def test_media_is_refused_for_what_the_spec_and_lock_do_not_have(page: Any, served: Any) -> None:
    def status(path: str) -> int:
        return int(page.request.get(f"{served.base}/{path}?t={served.token}").status)

    assert status(f"media/{PAID}/2") == 200
    for path in [
        f"media/{PAID}/99",  # no such take
        f"media/{PAID}/3",  # on record, bytes not here
        "media/not-in-the-spec/1",
        f"media/{PAID}/..%2F..%2Fshots.lock",
        "media/..%2F..%2Fetc%2Fpasswd/1",
        f"media/{PAID}/%2e%2e",
    ]:
        assert status(path) == 404, path


def test_keys_move_between_shots_and_space_plays(page: Any) -> None:
    current = "() => document.querySelector('section.shot.current').dataset.name"
    assert page.evaluate(current) == SHOTS[0]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate(current) == SHOTS[2]
    page.keyboard.press("ArrowUp")
    assert page.evaluate(current) == SHOTS[1]
    page.eval_on_selector("section.shot.current video.main", "v => { v.muted = true; }")
    page.keyboard.press(" ")
    page.wait_for_function(
        "() => !document.querySelector('section.shot.current video.main').paused"
    )
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('section.shot.current video.main').paused")


def test_space_plays_and_pauses_the_take_played_last_in_the_current_shot(page: Any) -> None:
    second = f"section.shot[data-name='{PAID}'] .player[data-take='2'] video"
    _plays(page, second)  # played by hand, then paused by the space key
    page.keyboard.press(" ")
    page.wait_for_function(f"() => document.querySelector({second!r}).paused")
    page.keyboard.press(" ")  # plays it again, not the picked take
    page.wait_for_function(f"() => !document.querySelector({second!r}).paused")
    main = f"section.shot[data-name='{PAID}'] video.main"
    assert page.eval_on_selector(main, "v => v.paused")
    page.keyboard.press(" ")
    page.wait_for_function(f"() => document.querySelector({second!r}).paused")


def test_key_2_picks_take_2_and_the_lock_and_the_page_follow(page: Any, project: Project) -> None:
    lock = project.spec_path.with_suffix(".lock")
    button = f"section.shot[data-name='{PAID}'] .player[data-take='2'] button.pick"
    page.eval_on_selector(  # seen whenever it happens: the key shows the button pressed
        button,
        """b => { window.__pressed = false; new MutationObserver(() => {
            if (b.classList.contains('pressed')) window.__pressed = true;
        }).observe(b, { attributes: true }); }""",
    )
    with page.expect_response("**/api/pick") as answer:
        page.keyboard.press("2")  # the first shot is current
    assert page.evaluate("window.__pressed") is True
    assert answer.value.status == 200
    assert json.loads(answer.value.request.post_data) == {"shot": PAID, "take": 2}
    assert json.loads(lock.read_text())["shots"][PAID]["pick"] == 2
    picked = f"section.shot[data-name='{PAID}'] .player.take.picked"
    page.wait_for_function(f"() => document.querySelector({picked!r}).dataset.take === '2'")
    assert page.locator(f"{picked} .badge").inner_text() == "TAKE 2 \u2713"
    assert page.locator(f"{picked} video.main").count() == 1  # the picked one is the main player
    assert page.locator("#toast").inner_text() == f"{PAID}: take 2 picked"
    page.keyboard.press("7")
    assert page.locator("#toast").inner_text() == f"{PAID} has no take 7"


def test_a_pick_key_goes_through_the_server(page: Any) -> None:
    with page.expect_response("**/api/pick") as answer:
        page.keyboard.press("1")  # the first shot is current: its take 1
    assert answer.value.status == 200
    page.wait_for_selector("#toast.show")
    assert page.locator("#toast").inner_text() == f"{PAID}: take 1 picked"


def test_a_pick_without_the_token_is_refused(served: Any) -> None:
    body = {"shot": PAID, "take": 1}
    refused = httpx.post(f"{served.base}/api/pick", json=body, headers={"Origin": served.base})
    assert refused.status_code == 403
    headers = {"Origin": served.base, "X-Review-Token": served.token}
    assert httpx.post(f"{served.base}/api/pick", json=body, headers=headers).status_code == 200


def test_a_spec_edit_shows_up_without_a_reload(page: Any, project: Project) -> None:
    page.evaluate("window.__same_page = true")
    text = project.spec_path.read_text().replace("She looks up", "He looks up")
    started = time.monotonic()
    project.spec_path.write_text(text)
    shot = f"section.shot[data-name='{PAID}']"
    page.wait_for_function(
        f"() => document.querySelector({shot + ' .prompt'!r}).textContent.includes('He looks')",
        timeout=10_000,
    )
    took = time.monotonic() - started
    assert page.evaluate("window.__same_page") is True  # no reload
    assert page.locator(f"{shot} .reason").inner_text() == "prompt changed"
    assert "OUT OF DATE" in page.locator(f"{shot} .preview-player .badge").inner_text()
    assert took < LIVE_SECONDS, f"the page followed the edit after {took:.1f} s"


def test_play_all_plays_the_shots_in_order(page: Any) -> None:
    page.evaluate("document.querySelectorAll('video').forEach(v => { v.muted = true; })")
    page.click("#play-all")
    page.wait_for_function(
        f"() => !document.querySelector(\"section.shot[data-name='{PAID}'] video.main\").paused"
    )
    assert page.locator("#play-all").inner_text().endswith("Stop")
    page.eval_on_selector(  # skip to the end of the first shot: the next one starts
        f"section.shot[data-name='{PAID}'] video.main", "v => { v.currentTime = v.duration; }"
    )
    page.wait_for_function(
        "() => !document.querySelector(\"section.shot[data-name='office-walk'] video.main\").paused"
    )
    page.click("#play-all")
    assert page.locator("#play-all").inner_text().endswith("Play all in order")


def test_the_static_export_plays_from_disk_without_the_build_folder(
    watched: Watched, project: Project, tmp_path: Path
) -> None:
    from shotbuild.review.export import export

    site = tmp_path / "site"
    export(project, site)
    shutil.rmtree(project.spec_path.parent / "build")
    page = watched.page
    page.goto((site / "index.html").as_uri())
    page.wait_for_selector(f"section.shot[data-name='{SHOTS[-1]}']")
    assert page.eval_on_selector_all("section.shot", "ns => ns.length") == len(SHOTS)
    _plays(page, f"section.sequence[data-name='{SEQUENCE}'] video.cut")
    _plays(page, f"section.sequence[data-name='{SEQUENCE}'] video.seq")
    _plays(page, f"section.shot[data-name='{PAID}'] video.main")
    _plays(page, "section.shot[data-name='office-walk'] video.main")
    _plays(page, f"section.shot[data-name='{PAID}'] .player[data-take='2'] video")
    third = page.locator(f"section.shot[data-name='{PAID}'] .player[data-take='3']")
    assert third.locator("video").count() == 0 and "not on this machine" in third.inner_text()
    assert page.locator("button.pick").count() == len(TAKES)
    assert all(b.is_disabled() for b in page.locator("button.pick").all())
    page.keyboard.press("2")
    assert "Picking needs `shotbuild review`" in page.locator("#toast").inner_text()
    assert "picking is disabled" in page.locator("#notes").inner_text()
    assert page.locator("img.ref").evaluate("i => i.complete && i.naturalWidth > 0")


def test_a_broken_spec_keeps_the_shots_and_says_why(page: Any, project: Project) -> None:
    good = project.spec_path.read_text()
    project.spec_path.write_text(good.replace("prompt: The founder walks", "prompt_: x"))
    page.wait_for_selector("#notes .note.bad", timeout=10_000)
    assert "cannot be read" in page.locator("#notes").inner_text()
    assert page.locator("section.shot").count() == len(SHOTS)
    project.spec_path.write_text(good)
    page.wait_for_selector("#notes .note.bad", state="detached", timeout=10_000)


def test_a_sequence_plays_member_1_to_its_out_then_member_2(page: Any) -> None:
    seq = f"section.sequence[data-name='{SEQUENCE}']"
    video = f"{seq} video.seq"
    page.wait_for_selector(video)
    assert page.locator(f"{seq} .status").inner_text() == "waiting for shots"
    assert page.locator(f"{seq} .reason").inner_text() == "waiting for office-walk"
    assert page.locator(f"{seq} .members li").all_inner_texts() == [
        f"{PAID} 1 s \u2192 2.5 s TAKE 1",
        "office-walk whole shot PREVIEW",
    ]
    assert page.locator(f"{seq} .player.cut .badge").inner_text() == "PREVIEW CUT"
    page.eval_on_selector(  # the furthest member 1 got, seen on every frame
        video,
        """v => { v.muted = true; window.__far = 0;
            const look = () => { if (v.dataset.member === '0')
                window.__far = Math.max(window.__far, v.currentTime);
                requestAnimationFrame(look); };
            requestAnimationFrame(look); }""",
    )
    page.click(f"{seq} button.seq-play")
    here = f"document.querySelector({video!r})"
    page.wait_for_function(f"() => !{here}.paused && {here}.dataset.member === '0'")
    at = page.evaluate(f"() => {here}.currentTime")
    assert 1.0 <= at < 2.5, at  # seeked to member 1's `in`
    assert page.evaluate(f"() => {here}.src").split("?")[0].endswith(f"/media/{PAID}/1")
    page.wait_for_function(
        f"() => {here}.dataset.member === '1' && !{here}.paused && {here}.currentTime > 0.2",
        timeout=10_000,
    )
    assert page.evaluate(f"() => {here}.src").split("?")[0].endswith("/media/office-walk/preview")
    far = page.evaluate("window.__far")
    assert 2.0 <= far < 3.0, far  # member 1 played to its `out` (2.5 s), not to its end (4 s)
    assert page.locator(f"{seq} .seq-player .frame .badge").inner_text() == "PREVIEW"
    assert page.locator(f"{seq} .members li.playing").get_attribute("data-shot") == "office-walk"
    page.eval_on_selector(f"{seq} video.cut", "v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        f"() => document.querySelector({seq + ' video.cut'!r}).currentTime > 0.3", timeout=10_000
    )


def test_a_pick_shows_its_cut_re_assembling_a_second_pick_works_then_the_new_cut_plays(
    watched: Watched, project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shotbuild.review.server import serve_in_thread

    assert project.cache_dir is not None
    cut = with_solo_cut(project.spec_path, project.cache_dir)
    before = hashlib.sha256(cut.read_bytes()).hexdigest()
    slow = SlowAssembler(monkeypatch)  # the encoder waits until the test lets it finish
    solo = f"section.sequence[data-name='{SOLO}']"
    page = watched.page
    with serve_in_thread(project) as served:
        try:
            page.goto(served.url)
            page.wait_for_selector(f"{solo} video.cut")
            assert page.locator(f"{solo} .status").inner_text() == "up to date"
            with page.expect_response("**/api/pick") as first:
                page.keyboard.press("2")  # the first shot is current: its take 2
            assert first.value.status == 200  # answered with the encoder still held
            assert slow.started.wait(60)
            page.wait_for_selector(f"{solo} .player.cut.assembling", timeout=10_000)
            assert "Re-assembling the cut" in page.locator(f"{solo} .player.cut").inner_text()
            assert page.locator(f"{solo} .status").inner_text() == "re-assembling\u2026"
            assert page.locator(f"{solo} video.cut").count() == 0  # the old cut is not offered
            page.wait_for_selector("#toast.show")
            shot = tmp_path / "re-assembling.png"  # looked at by hand: the cut's state as shown
            _screenshot(page, solo, shot)
            assert shot.stat().st_size > 5_000
            with page.expect_response("**/api/pick") as second:
                page.keyboard.press("1")  # while the encoder runs: not refused
            assert second.value.status == 200
            page.wait_for_function(
                "() => document.getElementById('toast').textContent === 'cold-open: take 1 picked'"
            )
            with page.expect_response("**/api/pick") as third:
                page.keyboard.press("2")
            assert third.value.status == 200
            slow.finish()
            page.wait_for_selector(f"{solo} video.cut", timeout=60_000)
            assert page.locator(f"{solo} .status").inner_text() == "up to date"
            _plays(page, f"{solo} video.cut")
            src = page.eval_on_selector(f"{solo} video.cut", "v => v.src")
            assert urlparse(src).path == f"/cut/{SOLO}/cut"
            served_bytes = page.request.get(src).body()
        finally:
            page.close()  # before its server stops: a poll after that would log a refused fetch
    after = hashlib.sha256(cut.read_bytes()).hexdigest()
    assert after != before and hashlib.sha256(served_bytes).hexdigest() == after
    assert slow.calls == 1  # picks 2, 1, 2 while it ran: the cut of take 2 was still right
