"""`shotbuild doctor` against the emulator over 127.0.0.1: one line per check,
--json, exit 1 on any fail; never a create."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shotbuild import cli
from shotbuild.doctor import Check, _probe_remote
from shotbuild.errors import ShotbuildError

KEY = "sk-doctor-KEY-3"


def doctor(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, tuple[str, str]], str]:
    code = cli.main(["doctor", "--json", *args])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc["format_version"] == 1 and doc["ok"] is (code == 0)
    return code, {c["name"]: (c["status"], c["detail"]) for c in doc["checks"]}, out


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def point_at(monkeypatch: pytest.MonkeyPatch, url: str, key: str | None = KEY) -> None:
    monkeypatch.setenv("HEYGEN_BASE_URL", url)
    if key is not None:
        monkeypatch.setenv("HEYGEN_API_KEY", key)


def test_all_well_against_the_emulator(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = emulator(api_key=KEY, balance=100.0)
    point_at(monkeypatch, emu.url)
    code, checks, out = doctor(capsys)
    assert code == 0
    assert {n: s for n, (s, _) in checks.items()} == {
        "prices": "ok",
        "origin": "ok",
        "server": "ok",
        "key": "ok",
        "account": "ok",
        "balance": "ok",
        "type name": "ok",
        "remote cache": "ok",
    }
    assert "emulator" in checks["server"][1]
    assert checks["balance"][1] == "$100.00 available (14 videos at $7.00)"
    assert "billed by wallet" in checks["account"][1]
    assert "$7.00 per video" in checks["prices"][1]
    assert KEY not in out
    stats = emu.stats()
    assert stats["creates_total"] == 0 and stats["jobs"] == 0


def test_text_output_is_one_line_per_check(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, emulator(api_key=KEY).url)
    assert cli.main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8
    assert all(line.split()[0] in ("ok", "warn", "fail") for line in lines)


def test_a_wrong_key_fails(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, emulator(api_key=KEY).url, key="sk-wrong")
    code, checks, out = doctor(capsys)
    assert code == 1
    assert checks["key"][0] == "fail" and "rejected (401)" in checks["key"][1]
    assert "sk-wrong" not in out


def test_no_key_fails(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, emulator().url, key=None)
    code, checks, _ = doctor(capsys)
    assert code == 1 and checks["key"][0] == "fail"
    assert "HEYGEN_API_KEY is not set" in checks["key"][1]
    assert "account" not in checks


@pytest.mark.parametrize(
    ("config", "status", "words"),
    [
        ({"balance": 5.0}, "warn", "not enough for one video: the HeyGen wallet has $5.00 left"),
        ({"balance": None}, "warn", "remaining balance could not be read"),
        ({"billing": "subscription"}, "warn", "credits"),
        ({"billing": "usage_based", "balance": 50.0}, "ok", "$50.00 available"),
    ],
)
def test_balances(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: dict[str, Any],
    status: str,
    words: str,
) -> None:
    point_at(monkeypatch, emulator(**config).url)
    code, checks, _ = doctor(capsys)
    assert code == 0  # a balance is a warning, not a broken set-up
    assert checks["balance"][0] == status and words in checks["balance"][1]


def test_an_account_that_does_not_say_how_it_pays_warns(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, emulator(billing="none").url)
    _, checks, _ = doctor(capsys)
    assert checks["account"][0] == "warn" and "does not say how it pays" in checks["account"][1]
    assert checks["balance"][0] == "warn"


def test_the_config_price_and_a_bad_config(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, emulator(balance=100.0).url)
    (project / "shotbuild.toml").write_text("price_per_video = 10\n")
    _, checks, _ = doctor(capsys)
    assert "$10.00 per video (from the project config)" in checks["prices"][1]
    assert checks["balance"][1] == "$100.00 available (10 videos at $10.00)"
    (project / "shotbuild.toml").write_text('price_per_video = "ten"\n')
    code, checks, _ = doctor(capsys)
    assert code == 1 and checks["prices"][0] == "fail"
    assert "price_per_video must be an amount" in checks["prices"][1]


def test_the_remembered_type_name_is_reported(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shotbuild.heygen.drift import remember_type_name
    from shotbuild.heygen.origin import origin_of
    from shotbuild.store.cache import Cache

    emu = emulator()
    point_at(monkeypatch, emu.url)
    with Cache() as cache:
        remember_type_name(cache, origin_of(emu.url), "avatar_shots")
    _, checks, _ = doctor(capsys)
    assert checks["type name"] == (
        "ok",
        f"{origin_of(emu.url)} accepted 'avatar_shots' on the last build",
    )


def test_an_unknown_server_warns_and_a_dead_one_fails(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    point_at(monkeypatch, f"http://127.0.0.1:{port}")
    code, checks, _ = doctor(capsys)
    assert code == 1
    assert checks["server"][0] == "warn" and checks["account"][0] == "fail"
    monkeypatch.setenv("HEYGEN_BASE_URL", "ftp://nowhere")
    code, checks, _ = doctor(capsys)
    assert code == 1 and checks["origin"][0] == "fail"


def test_a_file_remote_cache_is_probed(
    emulator: Callable[..., Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    pytest.importorskip("fsspec")
    shared = tmp_path_factory.mktemp("shared")
    point_at(monkeypatch, emulator().url)
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE", shared.as_uri())
    _, checks, _ = doctor(capsys)
    assert (
        checks["remote cache"][0] == "ok" and "reachable and writable" in checks["remote cache"][1]
    )
    assert len(list((shared / "blobs").rglob("*"))) == 2  # one folder, one probe blob
    _, checks, _ = doctor(capsys)  # again: the same probe, nothing more written
    assert "already there" in checks["remote cache"][1]
    assert len(list((shared / "blobs").rglob("*"))) == 2
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE_MODE", "read")
    _, checks, _ = doctor(capsys)
    assert "read mode: not written" in checks["remote cache"][1]
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE_MODE", "sideways")
    code, checks, _ = doctor(capsys)
    assert code == 1 and checks["remote cache"][0] == "fail"


def test_remote_probe_failures() -> None:
    def broken(*_a: object) -> Any:
        raise ShotbuildError("remote cache s3://x: cannot read result (no route)")

    def miss(_key: str) -> None:
        return None

    assert _probe_remote("s3://x", "readwrite", broken, broken).status == "fail"
    written = _probe_remote("s3://x", "readwrite", miss, broken)
    assert written == Check(
        "remote cache",
        "fail",
        "s3://x: reachable, but not writable: remote cache s3://x: cannot read result (no route)",
    )
