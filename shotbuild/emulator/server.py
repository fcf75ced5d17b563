"""Serving the emulator with uvicorn: on a socket bound here (so port 0 works and
the URL is known before serving starts), in a thread for tests or in the
foreground for `shotbuild emulate`."""

from __future__ import annotations

import copy
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from shotbuild.emulator.app import DroppedConnection


class _QuietDrops(logging.Filter):
    """A dropped connection is a fault the emulator injects on purpose, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket. Created with proto=IPPROTO_TCP (not 0), so asyncio sets
    TCP_NODELAY on every accepted connection; the option is also set here, which
    Linux passes on to accepted sockets. Without it each kept-alive answer waits
    ~40 ms for the client's delayed ACK (Nagle's algorithm)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


_QUIET_DROPS = _QuietDrops()


def make_server(app: Any, *, verbose: bool = False) -> uvicorn.Server:
    """A uvicorn server for `app`; `verbose` logs each request (never its headers)."""
    logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)  # added once, however many servers
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # stdout has the URL only
    config = uvicorn.Config(
        app,
        log_config=log_config,
        log_level="info" if verbose else "warning",
        lifespan="on",
        loop="asyncio",
        http="h11",
        access_log=verbose,
    )
    return uvicorn.Server(config)


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` on a real socket in a background thread; yields the base URL
    (e.g. http://127.0.0.1:54321) and stops the server on exit."""
    sock = bind(host, port)
    server = make_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="shotbuild-emulator", daemon=True
    )
    thread.start()
    try:
        for _ in range(1000):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError("the emulator did not start")
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
