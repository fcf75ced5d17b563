"""The one list of the options that make `shotbuild build` not plain."""

from __future__ import annotations

import click

from shotbuild.buildflags import NOT_PLAIN, PLAIN, PLAIN_FLAGS, is_plain
from shotbuild.commands.build import cli as build


def _params() -> dict[str, click.Parameter]:
    return {p.name: p for p in build.params if p.name is not None}


def test_every_option_of_build_is_plain_or_not() -> None:
    """A new option of `build` must be put in NOT_PLAIN or PLAIN (buildflags.py)."""
    names = set(_params())
    assert not NOT_PLAIN & PLAIN
    assert names - NOT_PLAIN - PLAIN == set(), "say in shotbuild/buildflags.py if it is plain"
    assert (NOT_PLAIN | PLAIN) - names == set(), "no longer an option of build"


def test_the_plain_flags_are_spelled_as_click_spells_them() -> None:
    params = _params()
    for name, spellings in PLAIN_FLAGS.items():
        param = params[name]
        assert isinstance(param, click.Option) and param.is_flag
        assert set(spellings) == set(param.opts)


def _defaults() -> dict[str, object]:
    """The values `build` is called with when no option is given."""
    with build.make_context("build", []) as ctx:
        return dict(ctx.params)


def test_a_build_with_every_default_is_plain() -> None:
    defaults = _defaults()
    assert is_plain(defaults)
    assert is_plain({**defaults, "jobs": 9, "quiet": True, "timeout": 5.0, "backend": "x"})


def test_any_not_plain_option_given_makes_it_not_plain() -> None:
    defaults = _defaults()
    given: dict[str, object] = {
        "only": ("a",),
        "force": ("a",),
        "all_takes": True,
        "dry_run": True,
        "max_seconds": 0.0,  # a limit of nothing is still a limit
        "max_cost": "0",
        "out": "out",
        "rerender_missing": True,
        "remote_cache": "",
        "remote_cache_mode": "read",
        "saved": "plan.json",
        "as_json": True,
    }
    assert set(given) == NOT_PLAIN
    for name, value in given.items():
        assert not is_plain({**defaults, name: value}), name
