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
        assert plan.returncode == 0 and "3 up to date" in plan.stderr, plan.stderr
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
