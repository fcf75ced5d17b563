"""The HeyGen client against the emulator over real sockets on 127.0.0.1, and the
`looks` and `emulate` commands end to end. The client's sleep moves the
emulator's fake clock, so waiting out a Retry-After or a render takes no time."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from shotbuild import cli
from shotbuild.heygen import AuthError, HeyGenClient, LinkExpired, VideoStatus

pytestmark = pytest.mark.anyio

KEY = "sk-emulated-KEY-42"
BODY: dict[str, Any] = {
    "type": "avatar_shots",
    "prompt": "A founder walks through a sunlit office.",
    "avatar_id": ["look_founder"],
    "duration": 4,
    "title": "office-walk",
}


class Sleeper:
    """The client's sleep: records each wait and moves the emulator's clock by it."""

    def __init__(self, emu: Any) -> None:
        self.emu, self.waits = emu, []  # type: list[float]

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.emu.clock.advance(seconds)


@pytest.fixture
def emu(emulator: Callable[..., Any]) -> Any:
    return emulator(api_key=KEY, latency=6.0)


@pytest.fixture
async def client(emu: Any) -> AsyncIterator[HeyGenClient]:
    emu.sleeper = Sleeper(emu)
    async with HeyGenClient(KEY, emu.url, sleep=emu.sleeper, random=lambda: 0.5) as c:
        yield c


async def wait_done(client: HeyGenClient, emu: Any, video_id: str) -> VideoStatus:
    status = await client.get_video(video_id)
    while not status.done:
        emu.clock.advance(2.0)
        status = await client.get_video(video_id)
    return status


async def test_create_poll_download(client: HeyGenClient, emu: Any) -> None:
    created = await client.create_video(BODY, idempotency_key="shot-office-walk-1")
    seen = [(await client.get_video(created.video_id)).status]
    status = await wait_done(client, emu, created.video_id)
    assert seen == ["pending"] and status.completed and status.duration == 4.0
    out = io.BytesIO()
    size = await client.download(status.video_url or "", out)
    assert size == len(out.getvalue()) > 0 and out.getvalue()[4:8] == b"ftyp"
    assert client.origin == emu.url


async def test_the_default_factory_renders_a_real_clip(
    emulator: Callable[..., Any], tmp_path: Path
) -> None:
    av = pytest.importorskip("av")
    emu = emulator(latency=0.0, video_factory=None)  # shotbuild.preview.video_bytes
    async with HeyGenClient(KEY, emu.url) as client:
        created = await client.create_video({**BODY, "resolution": "720p"}, idempotency_key="k")
        status = await client.get_video(created.video_id)
        path = tmp_path / "clip.mp4"
        with path.open("wb") as f:
            await client.download(status.video_url or "", f)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert stream.codec_context.name == "h264"
        assert container.duration / 1_000_000 == pytest.approx(4.0, abs=0.5)


async def test_429_retry_after_is_honoured(emulator: Callable[..., Any]) -> None:
    emu = emulator(concurrency=1, latency=30.0)
    sleeper = Sleeper(emu)
    async with HeyGenClient(KEY, emu.url, sleep=sleeper) as client:
        await client.create_video(BODY, idempotency_key="first")
        second = await client.create_video(BODY, idempotency_key="second")
    assert sleeper.waits == [30.0]  # the emulator's Retry-After: until the first job ends
    assert second.video_id and emu.stats()["jobs"] == 2


async def test_a_429_burst_with_an_http_date(client: HeyGenClient, emu: Any) -> None:
    emu.faults(rate_limit_next=2, retry_after=3, retry_after_format="date")
    looks = await client.list_looks()
    assert len(looks) == 60
    # An HTTP date has whole seconds and the client reads it a moment after the server
    # wrote it, so "3 s from now" waits from 2 s less that moment up to 3 s (1.5 s leaves
    # room for a loaded machine); the client's own backoff would be 1 s +-25 %.
    assert len(emu.sleeper.waits) == 2
    assert all(1.5 < w <= 3.0 for w in emu.sleeper.waits), emu.sleeper.waits


async def test_a_dropped_create_is_replayed_once(client: HeyGenClient, emu: Any) -> None:
    emu.faults(drop_next=1)
    created = await client.create_video(BODY, idempotency_key="shot-x-1")
    stats = emu.stats()
    assert stats["jobs"] == 1 and stats["creates_per_key"] == {"shot-x-1": 2}
    assert stats["injected"] == {"dropped": 1}
    assert (await client.get_video(created.video_id)).id == created.video_id


async def test_reads_survive_injected_server_errors(emulator: Callable[..., Any]) -> None:
    emu = emulator(error_rate=0.5, seed=3)
    async with HeyGenClient(KEY, emu.url, sleep=Sleeper(emu)) as client:
        looks = await client.list_looks(ownership="public")
    assert len(looks) == 57 and emu.stats()["injected"]["5xx"] > 0


async def test_an_expired_link_is_refreshed_by_a_status_call(emulator: Callable[..., Any]) -> None:
    emu = emulator(latency=0.0, link_ttl=10.0)
    async with HeyGenClient(KEY, emu.url) as client:
        created = await client.create_video(BODY, idempotency_key="k")
        old = (await client.get_video(created.video_id)).video_url or ""
        emu.clock.advance(11)
        with pytest.raises(LinkExpired):
            await client.download(old, io.BytesIO())
        fresh = (await client.get_video(created.video_id)).video_url or ""
        assert fresh != old
        assert await client.download(fresh, io.BytesIO()) > 0


async def test_a_download_that_breaks_off_starts_over(client: HeyGenClient, emu: Any) -> None:
    created = await client.create_video(BODY, idempotency_key="k")
    status = await wait_done(client, emu, created.video_id)
    emu.faults(drop_downloads_next=1)
    out, seen = io.BytesIO(), []  # type: io.BytesIO, list[int]
    size = await client.download(status.video_url or "", out, on_progress=seen.append)
    assert size == len(out.getvalue()) == sum(seen) and out.getvalue()[4:8] == b"ftyp"
    assert any(n < 0 for n in seen)  # the broken half was taken back
    stats = emu.stats()
    assert stats["downloads"] == 2 and stats["renders"] == 1
    assert stats["injected"] == {"dropped_downloads": 1}


async def test_assets_both_ways(emulator: Callable[..., Any], tmp_path: Path) -> None:
    emu = emulator(strict_ids=True, latency=0.0)
    image, clip = tmp_path / "ref.png", tmp_path / "ref.mp4"
    image.write_bytes(b"\x89PNG" + bytes(200))
    clip.write_bytes(bytes(range(256)) * 40)
    async with HeyGenClient(KEY, emu.url) as client:
        small = await client.upload_asset(image)
        client.multipart_limit = 1000  # the clip goes the direct-upload way
        big = await client.upload_asset(clip)
        assert (small.mime_type, small.size_bytes) == ("image/png", 204)
        assert (big.mime_type, big.size_bytes) == ("video/mp4", 10240)
        refs = [{"type": "asset_id", "asset_id": a.asset_id} for a in (small, big)]
        created = await client.create_video({**BODY, "references": refs}, idempotency_key="k")
    assert created.video_id


async def test_webhook_endpoint_registration(client: HeyGenClient) -> None:
    endpoint = await client.create_webhook_endpoint(
        "https://hooks.example/heygen", ["avatar_video.success", "avatar_video.fail"]
    )
    assert endpoint.secret and endpoint.events == ("avatar_video.success", "avatar_video.fail")


async def test_the_key_stays_out_of_logs_over_real_sockets(
    emu: Any, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("httpx", "httpcore", "shotbuild", "uvicorn"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        emu.faults(drop_next=1, rate_limit_next=1)
        async with HeyGenClient(KEY, emu.url, sleep=Sleeper(emu)) as client:
            created = await client.create_video(BODY, idempotency_key="k")
            status = await wait_done(client, emu, created.video_id)
            await client.download(status.video_url or "", io.BytesIO())
            text = repr(client)
        async with HeyGenClient(KEY + "x", emu.url) as wrong:
            with pytest.raises(AuthError) as info:
                await wrong.list_looks()
    finally:
        for name in ("httpx", "httpcore", "shotbuild", "uvicorn"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    messages = [r.getMessage() for r in caplog.records]
    assert any("send_request_headers" in m for m in messages)  # httpcore did log at DEBUG
    assert not [m for m in [*messages, text, str(info.value)] if KEY in m]


# -- the commands --------------------------------------------------------------------------


def test_looks_command_end_to_end(
    emu: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEYGEN_BASE_URL", emu.url)
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    assert cli.main(["looks", "--ownership", "private"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "ORIENTATION"]
    assert [line.split()[0] for line in lines[1:]] == [
        "look_founder",
        "look_cofounder",
        "look_host",
    ]
    assert err == "3 looks\n"
    assert cli.main(["looks", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format_version"] == 1 and len(doc["looks"]) == 60
    assert doc["looks"][0]["id"] == "look_founder"


def test_looks_with_a_wrong_key_is_one_line(
    emu: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEYGEN_BASE_URL", emu.url)
    monkeypatch.setenv("HEYGEN_API_KEY", "not-the-key")
    assert cli.main(["looks"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("shotbuild: error: HEYGEN_API_KEY was rejected (401)")
    assert err.count("\n") == 1 and "not-the-key" not in err


def test_looks_without_a_key_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["looks"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HEYGEN_API_KEY" in err
    assert "--backend" not in err  # looks has no backend option: nothing to suggest there


def test_emulate_serves_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shotbuild", "emulate", "--port", "0", "--latency", "0", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        import httpx

        answer = httpx.get(
            f"{url}/v3/avatars/looks", headers={"x-api-key": "emu-secret-7f3e"}, timeout=10
        )
        assert answer.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert '"GET /v3/avatars/looks HTTP/1.1" 200' in err  # -v logs each request
    assert "emu-secret-7f3e" not in err  # but not the key


def test_emulate_on_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["emulate", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("shotbuild: error: cannot listen on 127.0.0.1:") and err.count("\n") == 1
    assert "--port 0 picks a free one" in err


def test_emulate_listens_on_8765_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shotbuild.emulator import server

    asked: list[tuple[str, int]] = []

    def refuse(host: str, port: int) -> socket.socket:
        asked.append((host, port))
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(server, "bind", refuse)  # the test never takes the real port
    assert cli.main(["emulate"]) == 1
    assert asked == [("127.0.0.1", 8765)]
    err = capsys.readouterr().err
    assert err == (
        "shotbuild: error: cannot listen on 127.0.0.1:8765 (Address already in use): another"
        " emulator may be running there; choose another --port (--port 0 picks a free one)"
        " or --host\n"
    )


def test_emulate_without_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    assert cli.main(["emulate"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "shotbuild: error: shotbuild emulate needs the 'emulator' extra: "
        "pip install 'shotbuild[emulator]'\n"
    )
