"""Out of credit (402) is the build's problem, not each shot's: the creates in flight
when the wallet runs dry are refused together, and the build stops with ONE line
(what is wrong, what to do), as a wrong key does; the jobs already created are seen
through and recorded (nothing paid is lost), and the next build, once there is
credit, renders only the shots that were refused or never started."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunningEmulator, SpecWriter

from shotbuild.backends.heygen import HeyGenBackend
from shotbuild.build import BuildOptions, BuildResult, build
from shotbuild.errors import ShotbuildError
from shotbuild.progress import LineReporter
from shotbuild.spec.load import load_spec
from shotbuild.store.cache import Cache
from shotbuild.store.lock import read_lock

KEY = "sk-out-of-credit-3e9"
SHOTS = 6
SPEC = "version: 1\ndefaults: {avatar_id: [look_founder], duration: 4}\nshots:\n" + "".join(
    f"  s{n}: {{prompt: The founder says {n}.}}\n" for n in range(SHOTS)
)


@pytest.fixture
def emu(emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator(api_key=KEY, latency=0.3, seed=3, clock=time.monotonic)


def pays_for(emu: RunningEmulator, videos: int) -> None:
    """The wallet runs dry after `videos` more jobs, though the balance read before
    the build said it could pay (someone else spent it meanwhile)."""
    world = emu.world
    most = world.stats.jobs + videos
    world.can_pay = lambda: world.stats.jobs < most


def in_process(emu: RunningEmulator, spec_file: Path, said: io.StringIO) -> BuildResult:
    with Cache() as cache:
        backend = HeyGenBackend(emu.url, KEY, cache=cache)
        options = BuildOptions(jobs=4, keep_going=True)
        return build(
            load_spec(spec_file), backend, options, cache=cache, reporter=LineReporter(said)
        )


def test_a_402_stops_the_build_with_one_error_and_keeps_what_was_paid(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    spec_file = write_spec(SPEC)
    pays_for(emu, 2)
    said = io.StringIO()
    with pytest.raises(ShotbuildError) as e:
        in_process(emu, spec_file, said)
    message = str(e.value)
    assert message.startswith("HeyGen: the account is out of credit (402") and "\n" not in message
    assert "failed" not in said.getvalue(), said.getvalue()  # no line per refused shot
    assert emu.counts["jobs"] == 2
    lock = read_lock(spec_file.with_suffix(".lock"))
    assert len(lock) == 2  # the two jobs paid for were seen through and recorded

    pays_for(emu, 100)  # credit added: the other four, none of the two paid again
    result = in_process(emu, spec_file, io.StringIO())
    assert sorted(result.up_to_date) == sorted(lock) and len(result.built) == SHOTS - 2
    assert emu.counts["jobs"] == SHOTS and result.paid_renders == SHOTS - 2


def test_a_402_is_one_line_from_the_cli(emu: RunningEmulator, write_spec: SpecWriter) -> None:
    spec_file = write_spec(SPEC)
    pays_for(emu, 0)
    for args in ((), ("-k",)):
        done = emu.shotbuild("build", str(spec_file), "-j", "4", *args)
        lines = done.stderr.splitlines()
        assert done.returncode == 1 and done.stdout == "", lines
        assert len(lines) == 1, lines
        assert lines[0].startswith("shotbuild: error: HeyGen: the account is out of credit (402")
    assert emu.counts["jobs"] == 0


NOT_RENDERED = "not rendered: the account was out of credit last time"


def test_plan_after_a_402_says_the_refused_shots_were_not_rendered(
    emu: RunningEmulator, write_spec: SpecWriter
) -> None:
    spec_file = write_spec(SPEC)
    pays_for(emu, 0)
    assert emu.shotbuild("build", str(spec_file), "-j", "4", "-k").returncode == 1
    assert emu.counts["jobs"] == 0
    plan = emu.shotbuild("plan", str(spec_file))
    lines = plan.stdout.splitlines()
    refused = re.compile(rf"s\d  new +{NOT_RENDERED}  4 s")
    never = re.compile(r"s\d  new +never built  4 s")
    assert len(lines) == SHOTS + 1, lines
    assert all(refused.match(line) or never.match(line) for line in lines[:SHOTS]), lines
    assert sum(bool(refused.match(line)) for line in lines) == 4  # the creates sent (-j 4)
    assert lines[-1] == "plan: 6 new; 24 s of video to pay for (6 renders, $42.00)"
    doc = json.loads(emu.shotbuild("plan", str(spec_file), "--json").stdout)
    said = sorted((shot["status"], shot["reason"]) for shot in doc["shots"])
    assert said == [("new", "never built")] * 2 + [("new", NOT_RENDERED)] * 4, said

    pays_for(emu, 100)  # credit added: the refused creates go out again, and are paid once
    assert emu.shotbuild("build", str(spec_file), "-j", "4").returncode == 0
    assert emu.counts["jobs"] == SHOTS


def test_a_changed_shot_refused_for_credit_says_what_changed_too() -> None:
    from shotbuild.reasons import Change, Code, Reason, words

    why = Reason(Code.NO_CREDIT, (Change("prompt", "a", "b"),))
    assert words(why) == f"prompt changed; {NOT_RENDERED}"
    assert words(Reason(Code.NO_CREDIT)) == NOT_RENDERED
