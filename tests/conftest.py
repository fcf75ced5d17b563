"""Shared fixtures. Every test runs with its own cache folder, no API key, and a
HOME that does not exist, so no test can touch the real home or the real API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home") / "does-not-exist"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHOTBUILD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    for var in (
        "XDG_CACHE_HOME",
        "HEYGEN_API_KEY",
        "HEYGEN_BASE_URL",
        "SHOTBUILD_BACKEND",
        "SHOTBUILD_REMOTE_CACHE",
        "SHOTBUILD_REMOTE_CACHE_MODE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


SpecWriter = Callable[..., Path]


@pytest.fixture
def write_spec(tmp_path: Path) -> SpecWriter:
    """write_spec(text, folder=tmp_path, name="shots.yaml", files={relative path: bytes})
    -> the spec's path: the one way a test puts a spec (and the files it refers to)
    on disk. Folders are made as needed; writing again replaces the spec."""

    def write(
        text: str,
        *,
        folder: Path | None = None,
        name: str = "shots.yaml",
        files: Mapping[str, bytes] | None = None,
    ) -> Path:
        where = folder if folder is not None else tmp_path
        for rel, data in (files or {}).items():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            (where / rel).write_bytes(data)
        where.mkdir(parents=True, exist_ok=True)
        path = where / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# -- the HeyGen emulator (issue 3): real sockets on 127.0.0.1, a clock tests move ------

import contextlib  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402


class FakeClock:
    """Monotonic seconds that move only when told; `sleep` moves them, so a client
    given `sleep=clock.sleep` waits out a Retry-After instantly on the emulator's clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)


class RunningEmulator:
    """The one wrapper of an emulator a test started: its URL, its world (in-process
    state and counts) and a way to run the real CLI against it in a child process."""

    def __init__(self, url: str, app: object, clock: Any, api_key: str | None) -> None:
        self.url, self.app, self.clock, self.api_key = url, app, clock, api_key
        key = getattr(getattr(app, "state", None), "world", None)
        configured = getattr(getattr(key, "config", None), "api_key", None)
        self.headers = {"x-api-key": configured or api_key or "emulator-control"}

    @property
    def world(self) -> Any:
        from shotbuild.emulator import world_of

        return world_of(self.app)

    @property
    def counts(self) -> dict[str, Any]:
        """The world's stats (jobs, creates, ...), read in-process without a request."""
        return dict(self.world.stats.as_json())

    @property
    def creates(self) -> int:
        """Jobs the emulator started: each one a paid create."""
        return int(self.counts["jobs"])

    def env(self, **extra: str) -> dict[str, str]:
        """This process's environment pointed at the emulator with its key."""
        key = {"HEYGEN_API_KEY": self.api_key or "sk-any-key"}
        return {**os.environ, **key, "HEYGEN_BASE_URL": self.url, **extra}

    def shotbuild(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 100
    ) -> subprocess.CompletedProcess[str]:
        """`python -m shotbuild ARGS` in a child process against the emulator."""
        cmd = [sys.executable, "-m", "shotbuild", *args]
        environ = dict(env) if env is not None else self.env()
        return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=timeout)

    def stats(self) -> dict[str, object]:
        import httpx

        answer = httpx.get(f"{self.url}/_emulator/stats", headers=self.headers)
        return dict(answer.json()["data"])

    def faults(self, **changes: object) -> dict[str, object]:
        import httpx

        response = httpx.post(f"{self.url}/_emulator/faults", json=changes, headers=self.headers)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])


def _start_emulator(stack: contextlib.ExitStack, **config: object) -> RunningEmulator:
    from shotbuild.emulator import EmulatorConfig, create_app, serve_in_thread
    from shotbuild.preview import placeholder_mp4

    config.setdefault("clock", FakeClock())
    config.setdefault("seed", 7)
    factory = config.pop("video_factory", placeholder_mp4)
    app = create_app(EmulatorConfig(**config), video_factory=factory)  # type: ignore[arg-type]
    url = stack.enter_context(serve_in_thread(app))
    return RunningEmulator(url, app, config["clock"], config.get("api_key"))  # type: ignore[arg-type]


@pytest.fixture
def emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """start(**EmulatorConfig fields) -> a RunningEmulator on 127.0.0.1, stopped after
    the test; its clock is a FakeClock unless `clock=` is given (`time.monotonic` for
    builds in a child process); videos are placeholders unless `video_factory=` is given."""
    with contextlib.ExitStack() as stack:
        yield lambda **config: _start_emulator(stack, **config)


# the end-to-end tests: the real CLI in a child process against an emulator. The head
# of the specs they build (one look, 4 s shots); each test module adds its shots.
SPEC_HEAD = """\
version: 1
defaults:
  avatar_id: [look_founder]
  duration: 4
shots:
"""


@pytest.fixture
def emu(
    request: pytest.FixtureRequest, emulator: Callable[..., RunningEmulator]
) -> RunningEmulator:
    """The test module's emulator for builds in a child process: on the real clock
    (they poll in real time), no latency, accepting only the module's KEY, seeded with
    its SEED (default 7), with the options in its EMULATOR (a dict; video_factory=None:
    the emulator's own preview renders, real frames)."""
    module = request.module
    seed = getattr(module, "SEED", 7)
    options = {"latency": 0.0, "seed": seed, "clock": time.monotonic}
    return emulator(api_key=module.KEY, **{**options, **getattr(module, "EMULATOR", {})})


@pytest.fixture
def built_spec(
    request: pytest.FixtureRequest, write_spec: SpecWriter, emu: RunningEmulator
) -> Path:
    """The test module's SPEC written and built once against `emu`."""
    path = write_spec(request.module.SPEC)
    built = emu.shotbuild("build", str(path))
    assert built.returncode == 0, built.stderr
    return path


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[RunningEmulator]:
    """One emulator for a whole module (e.g. a table of requests), any key accepted."""
    with contextlib.ExitStack() as stack:
        yield _start_emulator(stack, latency=0.0)


# -- S3 through moto's server mode: a real S3 endpoint on 127.0.0.1 (issue 6) ----------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """http://127.0.0.1:<port> of a moto S3 server started for the module, stopped after."""
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test credentials and no profile or endpoint from the machine running the tests."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)


# -- a real browser for the review page (issue 13): Debian's chromium via Playwright ------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in
    the main thread while its (session-wide) browser lives, and the engine's own
    asyncio.run() cannot start inside it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Chromium for the whole session; skips, saying how to get it, where
    /usr/bin/chromium or Playwright is missing (.ci/run installs chromium)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium for the browser tests: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
