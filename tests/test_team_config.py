"""Where the remote cache comes from: --remote-cache > $SHOTBUILD_REMOTE_CACHE > the
project config file (shotbuild.toml, or [tool.shotbuild] in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SpecWriter

from shotbuild import cli
from shotbuild.config import ConfigError, find_config
from shotbuild.settings import Settings
from shotbuild.store.remote import RemoteCache


def remote_cache_for(
    spec_dir: Path,
    *,
    url: str | None = None,
    mode: str | None = None,
    environ: dict[str, str],
) -> RemoteCache | None:
    settings = Settings.resolve(spec_dir, remote_cache=url, remote_cache_mode=mode, environ=environ)
    return settings.remote.open()


@pytest.fixture
def project(tmp_path: Path, write_spec: SpecWriter) -> Path:
    """A repository with its spec two folders down."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    spec_dir = tmp_path / "repo" / "video" / "launch"
    write_spec(
        "version: 1\nshots:\n  a: {prompt: Hello., avatar_id: [look_founder]}\n", folder=spec_dir
    )
    return spec_dir


def test_no_config_and_no_variable_means_no_remote_cache(project: Path) -> None:
    assert find_config(project).path is None
    assert remote_cache_for(project, environ={}) is None


def test_shotbuild_toml_beside_the_spec_or_pyproject_up_to_the_repository_root(
    project: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    (tmp_path / "shotbuild.toml").write_text('remote_cache = "file:///outside"\n')
    assert find_config(project).path is None  # never above the repository's root
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(project).path is None  # a pyproject.toml without the table
    (repo / "pyproject.toml").write_text(
        '[tool.shotbuild]\nremote_cache = "s3://team/cache"\nremote_cache_mode = "read"\n'
    )
    found = find_config(project)
    assert (found.path, found.remote_cache, found.remote_cache_mode) == (
        repo / "pyproject.toml",
        "s3://team/cache",
        "read",
    )
    (project / "shotbuild.toml").write_text('remote_cache = "file:///nearest"\n')
    assert find_config(project).remote_cache == "file:///nearest"


def test_option_then_environment_then_file(project: Path, tmp_path: Path) -> None:
    urls = {name: (tmp_path / name).as_uri() for name in ("opt", "env", "file")}
    (project / "shotbuild.toml").write_text(
        f'remote_cache = "{urls["file"]}"\nremote_cache_mode = "read"\n'
    )
    from_file = remote_cache_for(project, environ={})
    assert from_file is not None and from_file.url == urls["file"] and from_file.mode == "read"
    env = {"SHOTBUILD_REMOTE_CACHE": urls["env"], "SHOTBUILD_REMOTE_CACHE_MODE": "readwrite"}
    from_env = remote_cache_for(project, environ=env)
    assert from_env is not None and (from_env.url, from_env.mode) == (urls["env"], "readwrite")
    from_opt = remote_cache_for(project, url=urls["opt"], mode="read", environ=env)
    assert from_opt is not None and (from_opt.url, from_opt.mode) == (urls["opt"], "read")
    # each setting on its own: the URL from the option, the mode from the file
    mixed = remote_cache_for(project, url=urls["opt"], environ={})
    assert mixed is not None and (mixed.url, mixed.mode) == (urls["opt"], "read")
    (project / "shotbuild.toml").write_text(f'remote_cache = "{urls["file"]}"\n')
    default = remote_cache_for(project, environ={})
    assert default is not None and default.mode == "readwrite"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'remote_cache = "file:///x"\nremote_cache_mode = "write"\n',
            "remote_cache_mode 'write' is not read or readwrite",
        ),
        ('remote_cach = "file:///x"\n', "unknown setting remote_cach; known: remote_cache,"),
        ("remote_cache = 3\n", "remote_cache must be a string"),
        ("remote_cache = \n", "not valid TOML"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_it(project: Path, text: str, message: str) -> None:
    (project / "shotbuild.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        remote_cache_for(project, environ={})
    assert str(caught.value).startswith(str(project / "shotbuild.toml"))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_mode_from_the_environment_names_the_variable(project: Path) -> None:
    env = {"SHOTBUILD_REMOTE_CACHE": "file:///x", "SHOTBUILD_REMOTE_CACHE_MODE": "rw"}
    with pytest.raises(ConfigError, match=r"^SHOTBUILD_REMOTE_CACHE_MODE: remote cache mode 'rw'"):
        remote_cache_for(project, environ=env)


def test_build_command_reports_a_bad_setting_in_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(project / "shots.yaml")
    (project / "shotbuild.toml").write_text('remote_cache = "file:///x"\nremote_cache_mode = "w"\n')
    assert cli.main(["build", spec, "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("shotbuild: error: ") and err.count("\n") == 1 and "'w'" in err
    # a broken file is an error even when an option would override it
    assert cli.main(["build", spec, "--dry-run", "--remote-cache-mode", "read"]) == 1
    (project / "shotbuild.toml").write_text('remote_cache = "file:///x"\n')
    assert cli.main(["build", spec, "--dry-run", "--remote-cache-mode", "read"]) == 0
    assert cli.main(["build", spec, "--remote-cache-mode", "write"]) == 2
    capsys.readouterr()
    assert cli.main(["build", "--help"]) == 0
    help_text = capsys.readouterr().out
    for option in ("--rerender-missing", "--remote-cache URL", "--remote-cache-mode"):
        assert option in help_text
