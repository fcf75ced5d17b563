"""`shotbuild plan --out FILE` and `build --plan FILE` (issue 15), as Terraform's
`plan -out` and `apply plan.out`: the saved plan is done exactly, or refused in one
line, paying nothing, when anything moved since; the file is untrusted input."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SPEC_HEAD, RunningEmulator

from shotbuild.cli import main
from shotbuild.savedplan import (
    MAX_PLAN_BYTES,
    PlanFileError,
    parse_saved_plan,
    read_saved_plan,
)

KEY = "sk-saved-plan-5e1d"
SPEC = (
    SPEC_HEAD
    + """\
  intro: {prompt: The founder says hello.}
  outro:
    prompt: The founder waves goodbye.
    references: [{type: file, path: ref.png}]
"""
)


@pytest.fixture
def emu(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    """conftest's, with this process pointed at it (the builds here run in-process)."""
    running = emu
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    monkeypatch.setenv("HEYGEN_BASE_URL", running.url)
    return running


@pytest.fixture
def spec_file(chdir_tmp: Path) -> Path:
    (chdir_tmp / "ref.png").write_bytes(b"\x89PNG one")
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    said = capsys.readouterr()
    return code, said.out + said.err


def saved(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = spec_file.parent / "plan.out"
    code, said = run(capsys, "plan", str(spec_file), "--out", str(out))
    assert code == 0 and "saved the plan to" in said, said
    return out


def test_build_plan_does_exactly_the_saved_plan(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = saved(spec_file, capsys)
    doc = json.loads(out.read_text())
    assert doc["format_version"] == 1 and doc["money"]["renders"] == 2
    assert doc["money"]["cost"] == {"amount": "14.00", "currency": "USD"}
    assert [(i["shot"], i["action"]) for i in doc["items"]] == [("intro", "new"), ("outro", "new")]
    assert doc["backend"]["identity"] == emu.url.rstrip("/")
    code, said = run(capsys, "build", str(spec_file), "--plan", str(out))
    assert code == 0, said
    assert emu.creates == 2
    assert spec_file.with_suffix(".lock").is_file()


def refused(emu: RunningEmulator, capsys: pytest.CaptureFixture[str], out: Path, *args: str) -> str:
    before = emu.creates
    code, said = run(capsys, "build", "--plan", str(out), *args)
    assert code == 1, said
    lines = [line for line in said.splitlines() if line.strip()]
    assert len(lines) == 1, said
    assert "nothing was paid" in said and f"shotbuild plan --out {out}` again" in said, said
    assert emu.creates == before
    return said


def test_an_edited_spec_is_refused(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = saved(spec_file, capsys)
    spec_file.write_text(SPEC + "# a comment: the same shots, other bytes\n")
    assert "shots.yaml changed" in refused(emu, capsys, out)
    assert emu.creates == 0


def test_a_changed_lock_is_refused(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = saved(spec_file, capsys)
    assert run(capsys, "build", "--only", "intro")[0] == 0  # a teammate built one shot
    assert "the lock changed" in refused(emu, capsys, out)
    assert emu.creates == 1


def test_a_moved_key_is_refused(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = saved(spec_file, capsys)
    (spec_file.parent / "ref.png").write_bytes(b"\x89PNG two")  # the spec's bytes unchanged
    assert "shot outro's key changed" in refused(emu, capsys, out)


def test_a_changed_action_is_refused(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "build")[0] == 0
    out = saved(spec_file, capsys)  # nothing to do
    (spec_file.parent / "build" / "intro.mp4").unlink()
    assert "shot intro is now restore, not up to date" in refused(emu, capsys, out)
    assert emu.creates == 2


def test_another_backend_is_refused(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = saved(spec_file, capsys)
    assert "the backend is preview" in refused(emu, capsys, out, "--backend", "preview")


def test_another_price_is_refused_and_max_cost_still_applies(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = saved(spec_file, capsys)
    code, said = run(capsys, "build", "--plan", str(out), "--max-cost", "7")
    assert code == 1 and "14.00" in said and emu.creates == 0, said
    (spec_file.parent / "shotbuild.toml").write_text("price_per_video = 8\n")
    assert "the price is 2 renders, 16.00 USD, not 2 renders, 14.00 USD" in refused(
        emu, capsys, out
    )


def test_only_and_force_do_not_go_with_a_saved_plan(
    emu: RunningEmulator, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = saved(spec_file, capsys)
    code, said = run(capsys, "build", "--plan", str(out), "--only", "intro")
    assert code == 2 and "--plan does the saved plan as it is" in said, said
    assert emu.creates == 0


# -- the file is untrusted ---------------------------------------------------------


def good_doc(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = spec_file.parent / "p.json"
    assert run(capsys, "plan", "--backend", "preview", "--out", str(out))[0] == 0
    doc: dict[str, object] = json.loads(out.read_text())
    assert parse_saved_plan(doc).to_json() == doc  # it reads back as it was written
    return doc


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d.update(format_version=2), "format_version 2 is not 1"),
        (lambda d: d.update(format_version=True), "format_version True is not 1"),
        (lambda d: d.update(extra=1), "unknown field 'extra'"),
        (lambda d: d.update(kind="terraform"), "kind 'terraform'"),
        (lambda d: d["spec"].update(sha256="ab"), "spec sha256"),
        (lambda d: d["items"][0].update(action="delete everything"), "item 1: action"),
        (lambda d: d["items"][0].update(shot="../../etc"), "item 1:"),
        (lambda d: d["items"][1].update(take=0), "item 2: take 0"),
        (lambda d: d["items"][0].update(key="x" * 64), "item 1:"),
        (lambda d: d.update(items={}), "items must be a list"),
        (lambda d: d["money"].update(cost={"amount": "1e9", "currency": "USD"}), "cost amount"),
        (lambda d: d["backend"].update(name="../x"), "backend name"),
    ],
)
def test_a_bad_field_is_one_line_naming_the_file(
    spec_file: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, object]], None],
    said: str,
) -> None:
    doc = good_doc(spec_file, capsys)
    change(doc)  # type: ignore[arg-type]
    bad = spec_file.parent / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(PlanFileError, match=r"bad\.json: not a saved shotbuild plan") as e:
        read_saved_plan(bad)
    assert said in str(e.value) and "\n" not in str(e.value)
    code, out = run(capsys, "build", "--backend", "preview", "--plan", str(bad))
    assert code == 1 and len(out.strip().splitlines()) == 1 and said in out, out
    assert not (spec_file.parent / "build").exists()  # nothing was built


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b'{"a": 1, "a": 2}'],
)
def test_corrupt_files_are_refused(
    spec_file: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    bad = spec_file.parent / "bad.json"
    bad.write_bytes(content)
    code, said = run(capsys, "build", "--backend", "preview", "--plan", str(bad))
    assert code == 1 and said.startswith("shotbuild: error: ") and "Traceback" not in said, said
    assert len(said.strip().splitlines()) == 1 and "plan --out" in said, said


def test_a_huge_file_is_refused_unread(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = spec_file.parent / "huge.json"
    with huge.open("wb") as f:
        f.truncate(MAX_PLAN_BYTES + 1)  # sparse: its size says enough
    code, said = run(capsys, "build", "--backend", "preview", "--plan", str(huge))
    assert code == 1 and "larger than" in said, said


def test_a_fifo_or_missing_file_is_refused(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = spec_file.parent / "fifo"
    os.mkfifo(fifo)
    code, said = run(capsys, "build", "--backend", "preview", "--plan", str(fifo))
    assert code == 1 and "not a regular file" in said, said
    code, said = run(capsys, "build", "--backend", "preview", "--plan", "nope.json")
    assert code == 1 and "nope.json: cannot be read" in said, said
