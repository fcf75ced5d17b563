"""The options several commands share (commands/_common.py): one kind of value, one
way of showing it in --help, wherever they stand."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from shotbuild.commands._common import BUILD_FOLDER
from shotbuild.commands.build import cli as build
from shotbuild.commands.plan import cli as plan
from shotbuild.commands.review import cli as review
from shotbuild.commands.schema import cli as schema

FILES = [(plan, "save", "file"), (build, "saved", "file"), (schema, "out", "file")]
FOLDERS = [(plan, "out", "folder"), (build, "out", "folder"), (review, "static_dir", "folder")]


def _param(command: click.Command, name: str) -> click.Parameter:
    return next(p for p in command.params if p.name == name)


@pytest.mark.parametrize(("command", "name", "kind"), FILES + FOLDERS)
def test_a_shared_path_option_takes_its_kind_only(
    command: click.Command, name: str, kind: str, tmp_path: Path
) -> None:
    """A file option refuses a folder (and says FILE in the help); a folder option, a file."""
    param = _param(command, name)
    assert isinstance(param.type, click.Path) and param.default is None
    (tmp_path / "f").write_bytes(b"")
    if kind == "file":
        assert not param.type.dir_okay and param.metavar == "FILE"
    else:
        assert not param.type.file_okay
    wrong = tmp_path if kind == "file" else tmp_path / "f"
    with pytest.raises(click.BadParameter):
        param.type.convert(str(wrong), param, None)


def test_plan_and_build_say_the_build_folder_in_the_same_words() -> None:
    for command in (plan, build):
        help_text = _param(command, "out").help
        assert help_text is not None and help_text.startswith(BUILD_FOLDER)
