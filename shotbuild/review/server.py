"""Serving the review app with uvicorn on a loopback socket bound here (so a
random free port is known before serving starts), in the foreground for the
command or in a thread for tests."""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from shotbuild.review.app import create_app
from shotbuild.review.live import Live
from shotbuild.review.model import Project

HOST = "127.0.0.1"  # loopback only: the page is for the person at this machine


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:<port>
    token: str

    @property
    def url(self) -> str:
        return f"{self.base}/?t={self.token}"


def bind(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    sock.listen(64)
    return sock


def make_server(project: Project, token: str) -> uvicorn.Server:
    app = create_app(Live(project), token)
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        loop="asyncio",
        http="h11",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def served(sock: socket.socket, token: str) -> Served:
    return Served(f"http://{HOST}:{sock.getsockname()[1]}", token)


@contextmanager
def serve_in_thread(project: Project, port: int = 0, token: str | None = None) -> Iterator[Served]:
    """Serve the review of `project` in a background thread; stops on exit."""
    token = token or new_token()
    sock = bind(port)
    server = make_server(project, token)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        yield served(sock, token)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_started(server: Any, thread: threading.Thread) -> None:
    for _ in range(1000):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        raise RuntimeError("the review server did not start")
