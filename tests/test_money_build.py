"""The money and drift integration, end to end: real builds in child processes
against the emulator on 127.0.0.1 (type-name fallback remembered per origin, both
names one key)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunningEmulator, SpecWriter

from shotbuild.store.lock import read_lock

KEY = "sk-money-build-3f2a"
SPEC = """\
version: 1
defaults:
  avatar_id: [look_founder]
  duration: 4
  {type_line}
shots:
  intro: {{prompt: The founder says hello.}}
  walk: {{prompt: The founder walks through the office.}}
  outro: {{prompt: The founder waves goodbye.}}
"""


def spec_text(type_line: str = "") -> str:
    return SPEC.format(type_line=type_line)


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.0, seed=7, clock=time.monotonic)


def build(emu: RunningEmulator, spec_file: Path, *args: str) -> str:
    done = emu.shotbuild("build", str(spec_file), *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_refused_type_name_falls_back_and_the_next_build_sends_it_first(
    emulator: Callable[..., RunningEmulator], write_spec: SpecWriter
) -> None:
    emu = emulator(
        api_key=KEY, latency=0.0, clock=time.monotonic, refuse_types=("cinematic_avatar",)
    )
    spec_file = write_spec(spec_text())
    said = build(emu, spec_file, "-j", "1")  # one create at a time: the run remembers too
    assert said.count("refused type 'cinematic_avatar'") == 1, said
    assert emu.stats()["create_types"] == {"cinematic_avatar": 1, "avatar_shots": 3}
    write_spec(spec_text().replace("says hello", "says hi"))  # one shot changed
    said = build(emu, spec_file)
    assert "refused type" not in said
    assert emu.stats()["create_types"] == {"cinematic_avatar": 1, "avatar_shots": 4}
    assert emu.stats()["jobs"] == 4


def test_switching_the_spec_between_the_two_names_renders_nothing(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    spec_file = write_spec(spec_text())
    build(emu, spec_file)
    lock = read_lock(spec_file.with_suffix(".lock"))
    assert emu.stats()["create_types"] == {"cinematic_avatar": 3}  # the default
    for line in ("type: avatar_shots", "type: cinematic_avatar", ""):
        write_spec(spec_text(line))
        plan = emu.shotbuild("plan", str(spec_file))
        assert plan.returncode == 0 and "3 up to date" in plan.stdout, plan.stdout
        build(emu, spec_file)
    assert emu.stats()["jobs"] == 3
    assert read_lock(spec_file.with_suffix(".lock")) == lock


@pytest.mark.anyio
async def test_the_backend_reads_status_words_through_the_drift() -> None:
    import httpx

    from shotbuild.backends.base import JobGone
    from shotbuild.backends.heygen import HeyGenBackend
    from shotbuild.status import RemoteState

    words = {"v1": "rendering", "v2": "waiting", "v3": "not_found", "v4": "completed"}

    def answer(request: httpx.Request) -> httpx.Response:
        video_id = request.url.path.rsplit("/", 1)[-1]
        data = {"id": video_id, "status": words[video_id]}
        if words[video_id] == "completed":
            data["video_url"] = "https://cdn.example.com/v4.mp4"
        return httpx.Response(200, json={"data": data})

    backend = HeyGenBackend("https://api.heygen.com", KEY, transport=httpx.MockTransport(answer))
    said: list[str] = []
    backend.listen(said.append)
    try:
        assert (await backend.status("v1")).state is RemoteState.PENDING
        assert (await backend.status("v1")).state is RemoteState.PENDING
        assert (await backend.status("v2")).state is RemoteState.PENDING
        assert (await backend.status("v4")).state is RemoteState.COMPLETED
        with pytest.raises(JobGone, match="not_found"):
            await backend.status("v3")
    finally:
        await backend.close()
    assert len(said) == 1 and "'rendering'" in said[0]


def test_a_plan_of_three_new_shots_costs_21_dollars(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    import json

    spec_file = write_spec(spec_text())
    text = emu.shotbuild("plan", str(spec_file))
    assert text.returncode == 0, text.stderr
    assert "3 new; 12 s of video to pay for (3 renders, $21.00)" in text.stdout
    assert text.stdout.count("4 s, $7.00") == 3
    doc = json.loads(emu.shotbuild("plan", str(spec_file), "--json").stdout)
    assert doc["seconds"] == 12 and doc["counts"] == {"new": 3}  # the keys it always had
    assert doc["renders"] == 3 and doc["cost"] == {"amount": "21.00", "currency": "USD"}
    assert [(s["renders"], s["cost"]["amount"]) for s in doc["shots"]] == [(1, "7.00")] * 3
    build(emu, spec_file)
    doc = json.loads(emu.shotbuild("plan", str(spec_file), "--json").stdout)
    assert doc["renders"] == 0 and doc["cost"]["amount"] == "0.00"  # the lock serves them
    (spec_file.parent / "build" / "walk.mp4").unlink()  # restored from the cache: no render
    doc = json.loads(emu.shotbuild("plan", str(spec_file), "--json").stdout)
    assert doc["counts"]["restore"] == 1 and doc["renders"] == 0
    assert emu.stats()["jobs"] == 3


def test_the_price_table_comes_from_the_project_config(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    spec_file = write_spec(spec_text())
    (spec_file.parent / "shotbuild.toml").write_text("price_per_video = 5.5\n")
    text = emu.shotbuild("plan", str(spec_file))
    assert "(3 renders, $16.50)" in text.stdout, text.stdout


def test_max_cost_refuses_before_any_create(emu: RunningEmulator, write_spec: SpecWriter) -> None:
    spec_file = write_spec(spec_text())
    done = emu.shotbuild("build", str(spec_file), "--max-cost", "10")
    assert done.returncode == 1
    assert "would spend $21.00 on 3 renders, more than the limit of $10.00" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    (spec_file.parent / "shotbuild.toml").write_text("max_cost = 14\n")
    refused = emu.shotbuild("build", str(spec_file))
    assert refused.returncode == 1 and "limit of $14.00" in refused.stderr
    assert emu.stats()["jobs"] == 0 and emu.stats()["create_types"] == {}
    bad = emu.shotbuild("build", str(spec_file), "--max-cost", "lots")
    assert bad.returncode != 0 and "--max-cost must be an amount" in bad.stderr
    assert "Traceback" not in bad.stderr
    build(emu, spec_file, "--max-cost", "21")  # the limit is inclusive
    assert emu.stats()["jobs"] == 3


def test_a_10_dollar_wallet_refuses_before_any_create(
    emulator: Callable[..., RunningEmulator], write_spec: SpecWriter
) -> None:
    emu = emulator(api_key=KEY, latency=0.0, clock=time.monotonic, balance=10.0)
    spec_file = write_spec(spec_text())
    done = emu.shotbuild("build", str(spec_file))
    assert done.returncode == 1
    assert "the HeyGen wallet has $10.00 left; this build needs $21.00" in done.stderr
    assert emu.stats()["jobs"] == 0 and emu.stats()["create_types"] == {}


def test_a_100_dollar_wallet_builds_and_says_what_it_paid(
    emulator: Callable[..., RunningEmulator], write_spec: SpecWriter
) -> None:
    emu = emulator(api_key=KEY, latency=0.0, clock=time.monotonic, balance=100.0)
    spec_file = write_spec(spec_text())
    said = build(emu, spec_file)
    assert "3 built" in said and "paid this run: 3 renders, $21.00" in said, said
    assert emu.stats()["jobs"] == 3
    again = build(emu, spec_file)
    assert "paid this run: 0 renders, $0.00" in again


def test_an_unknown_balance_is_said_and_the_build_goes_on(
    emulator: Callable[..., RunningEmulator], write_spec: SpecWriter
) -> None:
    emu = emulator(api_key=KEY, latency=0.0, clock=time.monotonic, balance=None)
    spec_file = write_spec(spec_text())
    said = build(emu, spec_file)
    assert "balance is not checked; going on" in said and "3 built" in said
    sub = emulator(api_key=KEY, latency=0.0, clock=time.monotonic, billing="subscription")
    write_spec(spec_text().replace("says hello", "says hi"))
    done = sub.shotbuild("build", str(spec_file))
    assert done.returncode == 0 and "HeyGen credits" in done.stderr, done.stderr


def test_the_summary_after_a_resumed_run_shows_nothing_paid(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    spec_file = write_spec(spec_text())
    env = emu.env(SHOTBUILD_TEST_CRASH_AT="mid-download")
    killed = emu.shotbuild("build", str(spec_file), "-j", "3", env=env)
    assert killed.returncode != 0 and emu.stats()["jobs"] >= 1
    jobs = emu.stats()["jobs"]
    resumed = build(emu, spec_file)
    assert "3 built" in resumed, resumed
    paid = 3 - jobs  # the killed run created `jobs`; this one only the rest
    assert emu.stats()["jobs"] == 3
    assert f"paid this run: {paid} render{'s' if paid != 1 else ''}, ${7 * paid}.00" in resumed


def test_the_question_is_asked_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    from decimal import Decimal

    import click

    from shotbuild.commands.build import asker
    from shotbuild.money import Money

    asked: list[str] = []

    def answer(text: str, **_kw: object) -> bool:
        asked.append(text)
        return False

    monkeypatch.setattr(click, "confirm", answer)
    cost = Money(Decimal("21"))
    assert asker(yes=False, confirm=None)(3, cost) is True  # pytest's stdin is no terminal
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert asker(yes=True, confirm=None)(3, cost) is True
    assert asker(yes=False, confirm=False)(3, cost) is True
    assert asked == []
    assert asker(yes=False, confirm=None)(3, cost) is False
    assert asked == ["3 renders, $21.00. Render?"]


def test_a_build_not_confirmed_creates_nothing(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    from shotbuild.backends.heygen import HeyGenBackend
    from shotbuild.build import build as build_spec
    from shotbuild.build.options import NotConfirmed
    from shotbuild.spec import load_spec
    from shotbuild.store.cache import Cache

    spec = load_spec(write_spec(spec_text()))
    questions: list[tuple[int, str]] = []

    def no(renders: int, cost: object) -> bool:
        questions.append((renders, str(cost)))
        return False

    with Cache(spec.root / "cache") as cache:
        backend = HeyGenBackend(emu.url, KEY, cache=cache)
        with pytest.raises(NotConfirmed, match="nothing was submitted"):
            build_spec(spec, backend, cache=cache, confirm=no)
        assert questions == [(3, "$21.00")] and emu.stats()["jobs"] == 0
        result = build_spec(spec, backend, cache=cache, confirm=lambda _n, _c: True)
        assert len(result.built) == 3 and str(result.paid_cost) == "$21.00"
        questions.clear()
        build_spec(spec, backend, cache=cache, confirm=no)  # nothing to pay: not asked
        assert questions == []


def test_renders_the_remote_cache_holds_are_not_counted(
    emu: RunningEmulator, write_spec: SpecWriter, tmp_path: Path
) -> None:
    import json
    import shutil

    spec_file = write_spec(spec_text())
    shared = {"SHOTBUILD_REMOTE_CACHE": (tmp_path / "shared").as_uri()}
    first = emu.shotbuild("build", str(spec_file), env=emu.env(**shared))
    assert first.returncode == 0, first.stderr
    spec_file.with_suffix(".lock").unlink()  # another machine: no lock, no build, own cache
    shutil.rmtree(spec_file.parent / "build")
    other = emu.env(**shared, SHOTBUILD_CACHE_DIR=str(tmp_path / "other-cache"))
    plan = json.loads(emu.shotbuild("plan", str(spec_file), "--json", env=other).stdout)
    assert plan["counts"] == {"new": 3} and plan["renders"] == 0
    assert plan["cost"]["amount"] == "0.00"
    alone = emu.env(SHOTBUILD_CACHE_DIR=str(tmp_path / "other-cache"))  # no remote cache
    plan = json.loads(emu.shotbuild("plan", str(spec_file), "--json", env=alone).stdout)
    assert plan["renders"] == 3 and plan["cost"]["amount"] == "21.00"
    done = emu.shotbuild("build", str(spec_file), "--max-cost", "0", env=other)
    assert done.returncode == 0 and "3 restored" in done.stderr, done.stderr
    assert emu.stats()["jobs"] == 3


def test_reroll_is_capped_like_a_build(emu: RunningEmulator, write_spec: SpecWriter) -> None:
    spec_file = write_spec(spec_text())
    build(emu, spec_file)
    before = emu.stats()["jobs"]
    refused = emu.shotbuild("reroll", "intro", str(spec_file), "--max-cost", "5")
    assert refused.returncode == 1, refused.stderr
    assert "more than the limit of $5.00" in refused.stderr
    assert emu.stats()["jobs"] == before  # refused before any create
    done = emu.shotbuild("reroll", "intro", str(spec_file), "--max-cost", "7")
    assert done.returncode == 0, done.stderr
    assert emu.stats()["jobs"] == before + 1 and "paid this run: 1 render, $7.00" in done.stderr
