"""The emulator's sockets: TCP_NODELAY on every accepted connection, so a kept-alive
request is not held ~40 ms by Nagle's algorithm waiting for a delayed ACK."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest

from shotbuild.emulator.server import base_url, bind


def _nodelay(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_listening_socket_is_tcp_with_nodelay() -> None:
    with bind() as sock:
        assert sock.proto == socket.IPPROTO_TCP  # what asyncio checks before it sets NODELAY
        assert _nodelay(sock)


def test_a_connection_accepted_by_asyncio_has_nodelay() -> None:
    """uvicorn serves the socket through loop.create_server(sock=...), as here."""
    seen: list[bool] = []

    async def main() -> None:
        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(_nodelay(writer.get_extra_info("socket")))
            writer.close()

        with bind() as sock:
            server = await asyncio.start_server(accepted, sock=sock)
            host, port = sock.getsockname()[:2]
            async with server:
                _, writer = await asyncio.open_connection(host, port)
                for _ in range(200):
                    if seen:
                        break
                    await asyncio.sleep(0.01)
                writer.close()

    asyncio.run(main())
    assert seen == [True]


def test_a_connection_accepted_plainly_inherits_nodelay() -> None:
    with bind() as sock, socket.create_connection(sock.getsockname()[:2]):
        conn, _ = sock.accept()
        with conn:
            assert _nodelay(conn), "accepted connection without TCP_NODELAY"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_kept_alive_round_trip_takes_no_nagle_stall(
    emulator: Any, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fastest of 20 round trips on one connection: ~1 ms with TCP_NODELAY, ~44 ms
    without (every answer waited for the client's delayed ACK). The bound is loose so a
    loaded machine does not fail it; the stall it guards against is 40 ms on every call."""
    emu = emulator(api_key="sk-k", latency=0.0)
    body = {"type": "avatar_shots", "prompt": "A wave.", "avatar_id": ["look_founder"]}
    times: list[float] = []
    with httpx.Client(base_url=emu.url, headers={"x-api-key": "sk-k"}) as client:
        for _ in range(21):
            start = time.perf_counter()
            if method == "GET":
                response = client.get("/v3/avatars/looks")
            else:
                response = client.post("/v3/videos", json=body)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
    assert min(times[1:]) < 0.015, f"fastest kept-alive round trip {min(times[1:]) * 1000:.1f} ms"


def test_base_url_names_the_bound_port() -> None:
    with bind() as sock:
        assert base_url(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}"
