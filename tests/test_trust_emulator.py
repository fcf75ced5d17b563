"""The emulator takes the key on every /v3 and /_emulator route except its health
check and the presigned links, and warns when it listens beyond this machine."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shotbuild.commands.emulate import is_loopback

KEY = "emu-key-0123456789"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_emulator/stats"),
        ("GET", "/_emulator/faults"),
        ("POST", "/_emulator/faults"),
        ("GET", "/_emulator/assets/ast_1"),
        ("GET", "/v3/avatars/looks"),
        ("POST", "/v3/videos"),
    ],
)
def test_routes_without_the_key_are_refused(emulator: Any, method: str, path: str) -> None:
    emu = emulator(api_key=KEY, latency=0.0)
    for headers in ({}, {"x-api-key": "wrong"}):
        answer = httpx.request(method, emu.url + path, headers=headers, json={})
        assert answer.status_code == 401, (path, headers)


def test_faults_with_the_key_still_work(emulator: Any) -> None:
    emu = emulator(api_key=KEY, latency=0.0)
    assert emu.faults(error_rate=0.0)["error_rate"] == 0.0
    assert "requests" in emu.stats()


def test_uploaded_assets_are_served_only_with_the_key(emulator: Any) -> None:
    emu = emulator(api_key=KEY, latency=0.0)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": KEY}) as http:
        files = {"file": ("r.png", b"private bytes", "image/png")}
        asset = http.post("/v3/assets", files=files).json()["data"]
        path = f"/_emulator/assets/{asset['asset_id']}"
        assert http.get(path).content == b"private bytes"
    assert httpx.get(emu.url + path).status_code == 401


def test_health_needs_no_key(emulator: Any) -> None:
    emu = emulator(api_key=KEY, latency=0.0)
    answer = httpx.get(emu.url + "/_emulator/health")
    assert answer.status_code == 200 and answer.json()["data"]["status"] == "ok"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_emulate_warns_when_listening_beyond_this_machine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], host: str, warned: bool
) -> None:
    from shotbuild import cli
    from shotbuild.emulator import server

    real_bind = server.bind

    class Idle:
        def run(self, sockets: Any) -> None:
            return None

    # the test never listens beyond 127.0.0.1: only the address shown differs
    monkeypatch.setattr(server, "bind", lambda h, p: real_bind("127.0.0.1", 0))
    monkeypatch.setattr(server, "make_server", lambda app, verbose=False: Idle())
    assert cli.main(["emulate", "--host", host, "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert ("warning: listening on 0.0.0.0" in err) is warned
    assert ("give --api-key" in err) is warned
