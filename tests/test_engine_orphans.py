"""A paid job is never lost when its shot changes while it is in flight: later
builds of the spec still finish it into the cache (not build/, not the lock), so
changing the shot back restores it instead of paying again."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_fakes import FakeHeyGen, heygen_backend, make_shot, make_spec, video_bytes

from shotbuild.build import BuildOptions, BuildResult, build
from shotbuild.build import crash as build_module
from shotbuild.plan import NEW, ORPHAN, Plan, make_plan
from shotbuild.spec.model import Spec
from shotbuild.store.cache import JOB_DONE, JOB_FAILED, Cache
from shotbuild.store.lock import read_lock


class Clocked:
    """Builds against one fake with a fake clock that moves only when the build sleeps."""

    def __init__(self, folder: Path, polls_to_finish: int = 400) -> None:
        self.fake = FakeHeyGen(polls_to_finish=polls_to_finish)
        self.cache = Cache(folder / "cache")
        self.now = 0.0

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    def build(self, spec: Spec, **options: object) -> BuildResult:
        backend = heygen_backend(self.fake, self.cache)
        opts = BuildOptions(**options)  # type: ignore[arg-type]
        return build(spec, backend, opts, cache=self.cache, sleep=self.sleep, clock=self.clock)

    def clock(self) -> float:
        return self.now

    def plan(self, spec: Spec) -> Plan:
        return make_plan(spec, heygen_backend(self.fake, self.cache), self.cache)


def hero(folder: Path, prompt: str) -> Spec:
    return make_spec(folder, make_shot("hero", prompt, duration=6), make_shot("b-roll", "Desk."))


def test_an_edited_shot_job_is_finished_into_the_cache_and_changing_back_is_free(
    tmp_path: Path,
) -> None:
    w = Clocked(tmp_path, polls_to_finish=1)
    w.fake.polls_to_finish = 400  # every job renders slowly: the first build times out
    v1, v2 = hero(tmp_path, "Version one."), hero(tmp_path, "Version two.")
    first = w.build(v1, timeout=60, keep_going=True)
    assert first.exit_code == 1 and w.fake.creates == 2
    old_key = w.plan(v1).items[0].key
    assert old_key is not None

    plan = w.plan(v2)
    assert {i.name: i.status for i in plan.items}["hero"] == NEW  # never built before
    assert [(o.name, o.status, o.key) for o in plan.orphans] == [("hero", ORPHAN, old_key)]
    assert plan.seconds == 6  # the earlier version is not work to pay for
    assert plan.to_json()["orphans"][0]["video_id"] == "vid_1"

    w.fake.polls_to_finish = 0  # renders finish now
    second = w.build(v2)
    assert second.exit_code == 0 and sorted(second.built) == ["b-roll", "hero"]
    assert second.cached == ["hero"]
    assert w.fake.creates == 3  # the new version only; vid_1 was polled, not re-made
    old = w.cache.result(old_key)
    assert old is not None and old.video_id == "vid_1" and w.cache.has_blob(old.sha256)
    job = w.cache.job(old_key)
    assert job is not None and job.state == JOB_DONE
    assert read_lock(v2.lock_path)["hero"].video_id == "vid_3"  # the lock never saw vid_1
    assert (tmp_path / "build" / "hero.mp4").read_bytes() == video_bytes("vid_3")
    assert w.plan(v2).orphans == ()

    third = w.build(v1)  # the user changes the shot back
    assert third.restored == ["hero"] and w.fake.creates == 3
    assert (tmp_path / "build" / "hero.mp4").read_bytes() == video_bytes("vid_1")
    assert read_lock(v1.lock_path)["hero"].video_id == "vid_1"


def test_an_earlier_version_respects_timeout_and_a_failed_one_is_only_recorded(
    tmp_path: Path,
) -> None:
    w = Clocked(tmp_path)
    v1, v2 = hero(tmp_path, "Version one."), hero(tmp_path, "Version two.")
    w.build(v1, timeout=60, keep_going=True)
    old_key = w.plan(v1).items[0].key
    assert old_key is not None
    w.fake.jobs["vid_2"].polls = 400  # b-roll finishes; hero's earlier version keeps rendering
    polls = w.fake.jobs["vid_1"].polls
    second = w.build(v2, timeout=60, keep_going=True)
    assert second.exit_code == 1 and second.built == ["b-roll"]  # new hero timed out too
    assert w.fake.jobs["vid_1"].polls > polls  # the earlier version was polled, until --timeout
    assert second.cached == [] and [o.name for o in w.plan(v2).orphans] == ["hero"]

    w.fake.fail_prompts.add("Version one.")
    w.fake.polls_to_finish = 0
    third = w.build(v2)
    assert third.exit_code == 0 and third.built == ["hero"] and third.cached == []
    job = w.cache.job(old_key)
    assert job is not None and job.state == JOB_FAILED and w.cache.result(old_key) is None
    assert w.plan(v2).orphans == ()


def test_only_this_spec_jobs_are_polled_and_dry_run_says_so(tmp_path: Path) -> None:
    w = Clocked(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a1 = make_spec(tmp_path / "a", make_shot("hero", "Version one."))
    b = make_spec(tmp_path / "b", make_shot("other", "Other."))
    w.build(a1, timeout=10)
    a2 = make_spec(tmp_path / "a", make_shot("hero", "Version two."))
    assert w.plan(b).orphans == ()
    w.fake.polls_to_finish = 0
    polls = w.fake.jobs["vid_1"].polls
    assert w.build(b).built == ["other"]
    assert w.fake.jobs["vid_1"].polls == polls  # b's build never asked about a's job
    dry = w.build(a2, dry_run=True)
    said = [(would.said, would.what) for would in dry.dry_run]
    assert ("hero (earlier version)", "finish into the cache: submitted as vid_1") in said


def test_over_a_socket_the_plan_shows_it_and_changing_back_costs_nothing(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread, world_of
    from shotbuild.preview import placeholder_mp4

    now = [0.0]
    config = EmulatorConfig(api_key="sk-orphan-1", latency=1000.0, seed=3, clock=lambda: now[0])
    app = create_app(config, video_factory=placeholder_mp4)
    spec_file = tmp_path / "shots.yaml"
    text = "version: 1\ndefaults: {avatar_id: [look_founder], duration: 4}\nshots:\n"

    def run(verb: str, prompt: str, *args: str) -> subprocess.CompletedProcess[str]:
        spec_file.write_text(text + f"  hero: {{prompt: {prompt}}}\n")
        env = {**os.environ, "HEYGEN_API_KEY": "sk-orphan-1", "HEYGEN_BASE_URL": url}
        cmd = [sys.executable, "-m", "shotbuild", verb, str(spec_file), *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)

    with serve_in_thread(app) as url:
        first = run("build", "Version one.", "--timeout", "1")
        assert first.returncode == 1 and "stays recorded" in first.stderr
        planned = run("plan", "Version two.")
        assert "in flight (earlier version): submitted as" in planned.stdout, planned.stdout
        now[0] += 2000.0  # the first job is done; the next ones finish at once
        world_of(app).config.faults.latency = 0.0
        second = run("build", "Version two.")
        assert second.returncode == 0 and "hero (earlier version): done" in second.stderr
        back = run("build", "Version one.")
        assert back.returncode == 0 and "0 built, 1 restored" in back.stderr, back.stderr
        assert world_of(app).stats.as_json()["jobs"] == 2


def test_a_create_with_no_answer_recorded_is_not_sent_for_an_earlier_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crash(BaseException):
        pass

    def crash(name: str) -> None:
        if name == "before-create":
            raise Crash(name)

    w = Clocked(tmp_path, polls_to_finish=0)
    v1, v2 = hero(tmp_path, "Version one."), hero(tmp_path, "Version two.")
    monkeypatch.setattr(build_module, "crash_point", crash)
    with pytest.raises(Crash):
        w.build(v1, jobs=1)
    monkeypatch.undo()
    old_key = w.plan(v1).items[0].key
    assert old_key in w.cache.in_flight(v1.path)
    plan = w.plan(v2)
    assert plan.orphans == () and plan.settled == (old_key,)  # no video_id: nothing to poll
    assert w.build(v2).exit_code == 0 and w.fake.creates == 2
    assert w.cache.in_flight(v2.path) == {}  # the list is pruned, no-op builds stay light
    assert w.build(v1).built == ["hero"] and w.fake.creates == 3  # its create, sent again


def test_killed_mid_download_then_edited_the_paid_render_still_reaches_the_cache(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread, world_of
    from shotbuild.preview import placeholder_mp4

    app = create_app(
        EmulatorConfig(api_key="sk-orphan-2", latency=0.0), video_factory=placeholder_mp4
    )
    spec_file = tmp_path / "shots.yaml"
    text = "version: 1\ndefaults: {avatar_id: [look_founder], duration: 4}\nshots:\n"

    def run(prompt: str, crash_at: str = "") -> subprocess.CompletedProcess[str]:
        spec_file.write_text(text + f"  hero: {{prompt: {prompt}}}\n")
        env = {**os.environ, "HEYGEN_API_KEY": "sk-orphan-2", "HEYGEN_BASE_URL": url}
        if crash_at:
            env["SHOTBUILD_TEST_CRASH_AT"] = crash_at
        cmd = [sys.executable, "-m", "shotbuild", "build", str(spec_file)]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)

    with serve_in_thread(app) as url:
        killed = run("Version one.", crash_at="mid-download")
        assert killed.returncode == -9  # kill -9 while the paid render was downloading
        edited = run("Version two.")
        assert edited.returncode == 0 and "hero (earlier version): done" in edited.stderr
        back = run("Version one.")
        assert back.returncode == 0 and "0 built, 1 restored" in back.stderr, back.stderr
        assert world_of(app).stats.as_json()["jobs"] == 2
