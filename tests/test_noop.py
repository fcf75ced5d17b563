"""The no-op record (shotbuild.noop): a `shotbuild build` with nothing to do is
answered from it, and every input that can change what a build does sends the
build the ordinary way again, which then does the right work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_fakes import BASE_URL, FakeHeyGen, heygen_backend, no_sleep

from shotbuild import cli, noop, paths
from shotbuild.build import build
from shotbuild.spec import load_spec
from shotbuild.store.cache import Cache

SPEC = """\
version: 1
defaults:
  avatar_id: [look_founder]
shots:
  office-walk:
    prompt: A founder walks through a sunlit office.
    duration: 6
    references:
      - {type: file, path: refs/light.jpg}
  demo:
    prompt: The founder demos the product.
    title: Demo
"""
UP_TO_DATE = "shotbuild: 0 built, 0 restored, 2 up to date, 0 failed"


@pytest.fixture
def spec_file(chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEYGEN_BASE_URL", BASE_URL)
    monkeypatch.setattr(noop, "RACY_NS", 0)  # the tests' files are all seconds old at once
    (chdir_tmp / "refs").mkdir()
    (chdir_tmp / "refs" / "light.jpg").write_bytes(b"\xff\xd8 a jpeg")
    path = chdir_tmp / "shots.yaml"
    path.write_text(SPEC)
    return path


def render(spec_file: Path, fake: FakeHeyGen) -> int:
    """A build against the fake API (in process); the exit code."""
    with Cache() as cache:
        result = build(
            load_spec(spec_file), heygen_backend(fake, cache), cache=cache, sleep=no_sleep
        )
    return result.exit_code


def fast(spec_file: Path, *args: str) -> int | None:
    return noop.fast_build(["build", "-q", *args, str(spec_file)])


def cli_build(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["build", "-q", *args])
    return code, capsys.readouterr().err


@pytest.fixture
def recorded(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> FakeHeyGen:
    """Built once; then a no-op build by the ordinary path has written the record."""
    fake = FakeHeyGen()
    assert render(spec_file, fake) == 0
    assert fast(spec_file) is None  # no record yet: the ordinary path
    code, err = cli_build(capsys)
    assert code == 0 and err.startswith(UP_TO_DATE)
    assert fast(spec_file) == 0
    assert capsys.readouterr().err == err  # the same summary, to the byte
    return fake


def test_a_no_op_build_is_answered_from_the_record(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = cli_build(capsys)
    assert code == 0 and err.startswith(UP_TO_DATE)
    assert fast(spec_file, "-j", "8", "-k", "-y") == 0
    assert fast(spec_file, "--dry-run") is None  # anything else: the ordinary path
    assert noop.fast_build(["build", "--json", str(spec_file)]) is None
    assert noop.fast_build(["build", "--out", "elsewhere", str(spec_file)]) is None
    assert noop.fast_build(["plan", str(spec_file)]) is None
    assert noop.fast_build(["build", "-q"]) == 0  # shots.yaml in this folder


def test_the_fast_path_imports_no_click_httpx_jsonschema_or_yaml(
    recorded: FakeHeyGen, spec_file: Path
) -> None:
    code = (
        "import sys; from shotbuild.cli import main; rc = main(['build', '-q']);"
        " heavy = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('click', 'httpx', 'jsonschema', 'yaml', 'diskcache', 'typing'));"
        " print(rc, heavy)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(noop.__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=spec_file.parent, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "0 []", done.stderr
    assert done.stderr.startswith(UP_TO_DATE)


def test_a_changed_spec_is_built(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file.write_text(SPEC.replace("title: Demo", "title: Demo 2"))
    assert fast(spec_file) is None
    assert cli_build(capsys)[0] == 0  # the new title is recorded (cosmetic), nothing rendered
    manifest = json.loads((spec_file.parent / "build" / ".shotbuild-outputs.json").read_text())
    assert manifest["outputs"]["demo.mp4"]["title"] == "Demo 2"


def test_changed_defaults_are_built(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file.write_text(SPEC.replace("  avatar_id: [look_founder]", "  avatar_id: [look_b]"))
    assert fast(spec_file) is None
    before = recorded.creates
    assert render(spec_file, recorded) == 0
    assert recorded.creates == before + 2  # both shots inherit the look


def test_a_touched_reference_is_hashed_again_and_a_changed_one_rendered(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = spec_file.parent / "refs" / "light.jpg"
    st = ref.stat()
    os.utime(ref, ns=(st.st_atime_ns, st.st_mtime_ns - 1_000_000_000))  # same bytes
    assert fast(spec_file) is None
    code, err = cli_build(capsys)
    assert code == 0 and err.startswith(UP_TO_DATE)  # hashed again: the same key
    assert fast(spec_file) == 0  # and recorded with its new stat
    ref.write_bytes(b"\xff\xd8 another jpeg")
    assert fast(spec_file) is None
    before = recorded.creates
    assert render(spec_file, recorded) == 0
    assert recorded.creates == before + 1


def test_a_reference_behind_a_link_is_caught(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = spec_file.parent
    (folder / "refs").rename(folder / "real-refs")
    (folder / "refs").symlink_to(folder / "real-refs")  # the same file, through a link
    assert fast(spec_file) is None
    code, err = cli_build(capsys)
    assert code == 1 and "symbolic link" in err


def test_a_lock_changed_by_git_is_read_again(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, lock = spec_file.parent, spec_file.with_suffix(".lock")
    full = lock.read_text()
    doc = json.loads(full)
    del doc["shots"]["demo"]
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    lock.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    subprocess.run([*git, "add", "shots.lock"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-qm", "without demo"], cwd=folder, check=True)
    lock.write_text(full)
    subprocess.run([*git, "commit", "-qam", "with demo"], cwd=folder, check=True)
    code, err = cli_build(capsys)  # .git is new: the config files' walk stops there now
    assert code == 0 and fast(spec_file) == 0
    subprocess.run(["git", "checkout", "-q", "HEAD~1", "--", "shots.lock"], cwd=folder, check=True)
    assert fast(spec_file) is None
    code, err = cli_build(capsys)
    assert code == 0 and "1 restored" in err  # demo's entry written again, from its output
    assert "demo" in json.loads(lock.read_text())["shots"]


@pytest.mark.parametrize("change", ["touched", "deleted", "replaced"])
def test_an_output_touched_deleted_or_replaced_is_caught_as_plan_does(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    out = spec_file.parent / "build" / "demo.mp4"
    data = out.read_bytes()
    if change == "touched":
        st = out.stat()
        os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns - 1_000_000_000))
    elif change == "deleted":
        out.unlink()
    else:
        other = out.with_name("other")
        other.write_bytes(b"someone else's video")
        other.replace(out)
    assert fast(spec_file) is None
    capsys.readouterr()
    assert cli.main(["plan", "--detailed-exitcode"]) == 2  # plan sees it too
    code, err = cli_build(capsys)
    if change == "replaced":
        assert code == 1 and "was not written by shotbuild" in err  # theirs: left alone
        return
    assert code == 0 and "1 restored" in err and out.read_bytes() == data
    assert cli_build(capsys)[0] == 0 and fast(spec_file) == 0


def test_a_stale_temporary_output_is_caught(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = spec_file.parent / "build" / ".demo.mp4.x1y2.tmp"
    stale.write_bytes(b"half a copy")
    assert fast(spec_file) is None
    assert cli_build(capsys)[0] == 0
    assert not stale.exists()  # the ordinary path cleans it up


def test_another_origin_or_backend_is_another_record(
    recorded: FakeHeyGen,
    spec_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert fast(spec_file, "--backend", "heygen") is None  # the option: another record
    assert fast(spec_file, "--backend", "preview") is None
    monkeypatch.setenv("SHOTBUILD_BACKEND", "preview")
    assert fast(spec_file) is None
    monkeypatch.delenv("SHOTBUILD_BACKEND")
    monkeypatch.setenv("HEYGEN_BASE_URL", "https://api.other-heygen.test")
    assert fast(spec_file) is None
    capsys.readouterr()
    assert cli.main(["plan", "--detailed-exitcode"]) == 2  # each shot would be rendered
    monkeypatch.setenv("HEYGEN_BASE_URL", BASE_URL)
    assert fast(spec_file) == 0


def test_an_env_var_or_a_config_file_is_caught(
    recorded: FakeHeyGen,
    spec_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE_MODE", "read")
    assert fast(spec_file) is None
    monkeypatch.delenv("SHOTBUILD_REMOTE_CACHE_MODE")
    monkeypatch.setenv("HEYGEN_API_KEY", "sk-not-part-of-any-record")
    assert fast(spec_file) == 0  # the key changes no key
    monkeypatch.setenv("SHOTBUILD_REMOTE_CACHE", "file:///nowhere")
    assert fast(spec_file) is None
    monkeypatch.delenv("SHOTBUILD_REMOTE_CACHE")
    config = spec_file.parent / "shotbuild.toml"
    config.write_text('remote_cache_mode = "sometimes"\n')
    assert fast(spec_file) is None
    code, err = cli_build(capsys)
    assert code == 1 and "remote_cache_mode" in err  # a broken config never hides
    config.write_text('currency = "EUR"\nprice_per_video = "6.50"\n')
    code, err = cli_build(capsys)
    assert code == 0 and err.startswith(UP_TO_DATE)
    assert fast(spec_file) == 0
    assert capsys.readouterr().err == err  # the summary in the config's currency


def test_another_shotbuild_version_or_code_is_another_record(
    recorded: FakeHeyGen, spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = noop.__version__
    monkeypatch.setattr(noop, "__version__", "99.0")
    assert fast(spec_file) is None
    monkeypatch.setattr(noop, "__version__", version)
    assert fast(spec_file) == 0
    monkeypatch.setattr(noop, "_CODE", ["shotbuild/keys.py 4100 1796000000000000000"])
    assert fast(spec_file) is None


def test_a_new_type_name_at_an_origin_forgets_every_record(
    recorded: FakeHeyGen, spec_file: Path
) -> None:
    from shotbuild.heygen.drift import remember_type_name

    with Cache() as cache:
        remember_type_name(cache, BASE_URL, "avatar_shots")
    assert fast(spec_file) is None


def test_jobs_in_flight_and_a_running_build_take_the_ordinary_path(
    recorded: FakeHeyGen, spec_file: Path
) -> None:
    import fcntl

    with Cache() as cache:
        cache.track_job(spec_file, "a" * 64, "demo", live=True)
        assert fast(spec_file) is None
        cache.track_job(spec_file, "a" * 64, "demo", live=False)
        assert fast(spec_file) is None  # its log of changes is not folded yet
        cache.flush_in_flight()  # as a build's end does
        assert fast(spec_file) is not None  # the list is gone again: as recorded (absent)
        lock = cache.directory / "locks" / f"{paths.spec_digest(str(spec_file))}.lock"
        with lock.open("a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            assert fast(spec_file) is None


def _record_file() -> Path:
    (found,) = (paths.cache_dir() / noop.FOLDER).iterdir()
    return found


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: "",
        lambda t: t[: len(t) // 2],
        lambda t: t.replace("shotbuild-noop 1", "shotbuild-noop 2"),
        lambda t: t.replace("\ndemo ", "\n../demo "),
        lambda t: t.replace("\ndemo ", "\ndemo\x1b "),
        lambda t: t.replace("up to date", "up to date\x1b[2J"),
        lambda t: t.replace("\nend\n", "\nend\nmore\n"),
        lambda t: t + "x" * (noop.MAX_RECORD_BYTES + 1),
        lambda t: "\n".join("/etc" if line.endswith("/build") else line for line in t.split("\n")),
    ],
)
def test_a_damaged_record_is_ignored_and_rewritten(
    recorded: FakeHeyGen, spec_file: Path, capsys: pytest.CaptureFixture[str], damage: object
) -> None:
    record = _record_file()
    good = record.read_text()
    assert callable(damage)
    record.write_text(damage(good))
    assert fast(spec_file) is None
    code, err = cli_build(capsys)
    assert code == 0 and err.startswith(UP_TO_DATE)
    assert record.read_text() == good  # written again by the ordinary path


def test_a_record_is_written_only_after_a_build_that_did_nothing(
    spec_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert render(spec_file, FakeHeyGen()) == 0
    (spec_file.parent / "build" / "demo.mp4").unlink()
    code, err = cli_build(capsys)
    assert code == 0 and "1 restored" in err
    assert not (paths.cache_dir() / noop.FOLDER).exists()  # it did something
    monkeypatch.setattr(noop, "RACY_NS", 10**18)  # every stamp is too recent to trust
    assert cli_build(capsys)[0] == 0
    assert not (paths.cache_dir() / noop.FOLDER).exists()
    monkeypatch.setattr(noop, "RACY_NS", 0)
    assert cli_build(capsys)[0] == 0 and fast(spec_file) == 0
    (spec_file.parent / "build" / "demo.mp4").unlink()
    assert cli_build(capsys)[0] == 0  # restored: the record is removed
    assert list((paths.cache_dir() / noop.FOLDER).iterdir()) == []


def test_a_spec_with_sequences_keeps_no_record(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file.write_text(SPEC + "sequences:\n  film:\n    shots: [office-walk, demo]\n")
    assert render(spec_file, FakeHeyGen()) in (0, 1)  # the cut may need ffmpeg
    cli_build(capsys)
    assert fast(spec_file) is None


def test_a_package_installed_or_upgraded_is_another_record(
    recorded: FakeHeyGen,
    spec_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    site = tmp_path / "venv" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert fast(spec_file) is None  # another set of folders on the path
    assert cli_build(capsys)[0] == 0 and fast(spec_file) == 0
    (site / "jsonschema-9.0.dist-info").mkdir()  # e.g. pip upgraded the validator
    assert fast(spec_file) is None


def test_a_spec_with_takes_keeps_no_record(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file.write_text(SPEC.replace("    title: Demo\n", "    title: Demo\n    takes: 2\n"))
    assert render(spec_file, FakeHeyGen()) == 0
    assert cli_build(capsys)[0] == 0
    assert fast(spec_file) is None
