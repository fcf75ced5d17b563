"""A pick from the review page answers at once; the cuts with the shot are
assembled again in the background (one worker, a set of queued cuts), outside the
build lock, and put in place under it. The encoder is a fake slow one
(tests/review_fixtures.SlowAssembler) that the test lets finish: no timing."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shotbuild.review.model import Project
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock_file
from tests.review_fixtures import (
    PAID,
    SOLO,
    SlowAssembler,
    built_project,
    copy_project,
    planner_for,
    with_solo_cut,
)

pytest.importorskip("watchfiles")

WAIT = 90.0  # seconds a condition may take on a loaded machine before the test fails


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    with built_project(tmp_path_factory.mktemp("review-cuts") / "project") as found:
        yield found


@pytest.fixture
def project(built: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A fresh copy of the built project with sequence SOLO (PAID alone) assembled."""
    spec, origin = built
    monkeypatch.setenv("HEYGEN_BASE_URL", origin)
    monkeypatch.setenv("HEYGEN_API_KEY", "test-key")
    copied = copy_project(spec, tmp_path / "p")
    with_solo_cut(copied, spec.parent / ".cache")
    return Project(copied, planner=planner_for(spec, origin), cache_dir=spec.parent / ".cache")


class Page:
    """The server's API as the page uses it."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def pick(self, take: int) -> httpx.Response:
        headers = {"X-Review-Token": self.token, "Origin": self.base}
        body = json.dumps({"shot": PAID, "take": take})
        return httpx.post(f"{self.base}/api/pick", content=body, headers=headers, timeout=WAIT)

    def model(self) -> dict[str, Any]:
        doc: dict[str, Any] = httpx.get(f"{self.base}/api/model", params={"t": self.token}).json()
        return doc

    def solo(self) -> dict[str, Any]:
        return next(s for s in self.model()["sequences"] if s["name"] == SOLO)

    def until(self, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if check(seq := self.solo()):
                return seq
            time.sleep(0.1)
        pytest.fail(f"{what}: {self.solo()}")


@pytest.fixture
def served(project: Project) -> Iterator[Page]:
    from shotbuild.review.server import serve_in_thread

    with serve_in_thread(project) as where:
        yield Page(where.base, where.token)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _takes(project: Project) -> dict[int, str]:
    shot = read_lock_file(project.spec_path.with_suffix(".lock")).shots[PAID]
    return {n: e.sha256 for n, e in shot.takes.items()}


def _cut_inputs(project: Project) -> list[str]:
    record = project.spec_path.parent / "build" / ".shotbuild-sequences.json"
    return [i[1] for i in json.loads(record.read_text())["sequences"][SOLO]["inputs"]]


def _left_behind(project: Project) -> list[Path]:
    """Temporary files of an assembly: in the cache's tmp folder or the build folder."""
    tmp = Cache(project.cache_dir).temp_files()
    build = project.spec_path.parent / "build"
    return tmp + [p for p in build.rglob(".*") if p.name.startswith((".sequence-", ".solo."))]


def test_a_pick_answers_while_the_cut_is_assembled_and_a_second_pick_goes_through(
    project: Project, served: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut = project.spec_path.parent / "build" / f"{SOLO}.mp4"
    takes, before = _takes(project), _sha256(cut)
    assert served.solo()["cut"] == "cut" and served.solo()["assembly"] == ""
    slow = SlowAssembler(monkeypatch)

    first = served.pick(2)  # the encoder cannot finish: the answer does not wait for it
    assert first.status_code == 200 and first.json() == {"shot": PAID, "take": 2}
    assert _sha256(project.spec_path.parent / "build" / f"{PAID}.mp4") == takes[2]
    assert slow.started.wait(WAIT)
    # the page's model is rebuilt once the pick's files change (under load, a moment
    # after the assembly shows as running): then the old cut is no longer offered
    seq = served.until(
        lambda s: s["assembly"] == "running" and s["cut"] is None,
        "the cut is not shown assembling, or the old cut is still offered",
    )
    assert seq["status"] == "assemble"

    second = served.pick(1)  # while the encoder still runs: not refused
    assert second.status_code == 200, second.text
    assert read_lock_file(project.spec_path.with_suffix(".lock")).shots[PAID].pick == 1
    assert _sha256(project.spec_path.parent / "build" / f"{PAID}.mp4") == takes[1]
    assert served.pick(2).status_code == 200  # back to 2: the cut is queued once
    assert served.solo()["assembly"] == "queued"
    assert _sha256(cut) == before  # nothing put in place while encoding

    slow.finish()
    seq = served.until(lambda s: s["cut"] == "cut" and s["assembly"] == "", "no new cut")
    assert seq["status"] == "up to date" and seq["members"][0]["media"] == "2"
    assert _sha256(cut) != before and _cut_inputs(project) == [takes[2]]
    assert slow.calls == 1  # the cut encoded from take 2 was still right: not encoded again
    assert httpx.get(f"{served.base}/cut/{SOLO}/cut", params={"t": served.token}).content == (
        cut.read_bytes()
    )
    assert _left_behind(project) == []
    with Cache(project.cache_dir).spec_lock(project.spec_path, timeout=0.0):
        pass  # the build lock is free


def test_a_cut_whose_member_moved_while_it_was_encoded_is_encoded_again(
    project: Project, served: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    takes = _takes(project)
    slow = SlowAssembler(monkeypatch)
    assert served.pick(2).status_code == 200
    assert slow.started.wait(WAIT)
    third = served.pick(3)  # fetched by video_id (no render): the cut being encoded is now wrong
    assert third.status_code == 200, third.text
    slow.finish()
    seq = served.until(lambda s: s["cut"] == "cut" and s["assembly"] == "", "no new cut")
    assert seq["members"][0]["media"] == "3"
    assert slow.calls == 2 and _cut_inputs(project) == [takes[3]]
    assert _left_behind(project) == []


def test_back_to_the_take_the_cut_was_made_of_needs_no_new_cut(
    project: Project, served: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut = project.spec_path.parent / "build" / f"{SOLO}.mp4"
    before = cut.read_bytes()
    slow = SlowAssembler(monkeypatch)
    assert served.pick(2).status_code == 200
    assert slow.started.wait(WAIT)
    assert served.pick(1).status_code == 200
    slow.finish()
    seq = served.until(lambda s: s["cut"] == "cut" and s["assembly"] == "", "the cut is not back")
    assert seq["members"][0]["media"] == "1" and slow.calls == 1
    assert cut.read_bytes() == before and _left_behind(project) == []


def test_a_failed_assembly_says_why_in_one_line_and_a_pick_tries_again(
    project: Project, served: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.sequences import media

    real = media.assemble

    def broken(segments: Any, size: Any, out: Path) -> str:
        raise media.AssemblyError("cold-open cannot be cut:\nthe decoder gave up")

    monkeypatch.setattr(media, "assemble", broken)
    assert served.pick(2).status_code == 200
    seq = served.until(lambda s: s["assembly"] == "failed", "the failure is not shown")
    assert seq["assembly_error"] == "cold-open cannot be cut: the decoder gave up"
    monkeypatch.setattr(media, "assemble", real)
    assert served.pick(2).status_code == 200  # the same take: the failed cut is tried again
    seq = served.until(lambda s: s["cut"] == "cut" and s["assembly"] == "", "no new cut")
    assert seq["assembly_error"] == "" and _cut_inputs(project) == [_takes(project)[2]]


def test_stopping_while_a_cut_is_encoded_leaves_the_old_cut_and_no_temporary_file(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbuild.review.server import serve_in_thread

    cut = project.spec_path.parent / "build" / f"{SOLO}.mp4"
    record = project.spec_path.parent / "build" / ".shotbuild-sequences.json"
    before, recorded = cut.read_bytes(), record.read_bytes()
    slow = SlowAssembler(monkeypatch)
    with serve_in_thread(project) as where:
        assert Page(where.base, where.token).pick(2).status_code == 200
        assert slow.started.wait(WAIT)
    assert _left_behind(project) == []  # the stop removed the encoder's files
    slow.finish()  # the encoder goes on, in a server that stopped: nothing is put in place
    assert slow.done.wait(WAIT)
    deadline = time.monotonic() + WAIT
    while _left_behind(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _left_behind(project) == []
    assert cut.read_bytes() == before and record.read_bytes() == recorded
    assert read_lock_file(project.spec_path.with_suffix(".lock")).shots[PAID].pick == 2


def test_the_settings_are_read_once_per_review(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from shotbuild.review.server import serve_in_thread
    from shotbuild.settings import Settings

    calls: list[Path | None] = []
    real = Settings.resolve.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Settings], spec_dir: Path | None = None, **kw: Any) -> Settings:
        calls.append(spec_dir)
        return real(cls, spec_dir, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(Settings, "resolve", classmethod(counted))
    with serve_in_thread(replace(project, planner=None)) as where:  # plans as the command does
        page = Page(where.base, where.token)
        assert calls == [project.spec_path.parent]
        assert page.model()["cost"] == "$14.00"  # the price table came with them
        assert page.pick(2).status_code == 200
        page.until(lambda s: s["cut"] == "cut" and s["assembly"] == "", "no new cut")
        spec = project.spec_path
        spec.write_text(spec.read_text().replace("She looks", "He looks"))
        deadline = time.monotonic() + WAIT
        while "He looks" not in _first_prompt(page.model()):
            assert time.monotonic() < deadline, "the edit was not followed"
            time.sleep(0.1)
    assert calls == [project.spec_path.parent]  # not again for the pick, the cut or the edit


def _first_prompt(model: dict[str, Any]) -> str:
    """The first shot's prompt; "" while the page shows no shot (write_text empties the
    spec before it writes it: a read in between finds no shots, seen once in CI)."""
    shots = model["shots"]
    return str(shots[0]["prompt"]) if shots else ""
