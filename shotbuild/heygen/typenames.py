"""The two names of HeyGen's Avatar Shots type, and the one spelling a shot's key
uses for both (see shotbuild.heygen.drift). Apart from drift so that keys, which
every plan and no-op build works out, do not import the create fallback and the
API's errors."""

from __future__ import annotations

SENT_BY_DEFAULT = "cinematic_avatar"  # HeyGen's current name
KEY_SPELLING = "avatar_shots"  # what keys have always held (main's default)
TYPE_NAMES = (SENT_BY_DEFAULT, KEY_SPELLING)  # one model, two names


def key_type_name(api_type: str) -> str:
    """The spelling of `type` in a shot's key: "avatar_shots" for both Avatar Shots
    names, so switching a spec between them renders nothing and keys written by
    earlier versions (which sent "avatar_shots" by default) stay as they are."""
    return KEY_SPELLING if api_type in TYPE_NAMES else api_type


def legacy_key_type_names(api_type: str) -> tuple[str, ...]:
    """Other spellings an earlier version put in this shot's key: a spec that said
    `type: cinematic_avatar` was keyed with that name until both names shared one
    key. A shot whose key misses in the lock and the cache can be looked up again
    under these (its request's type replaced) and its entry adopted, not re-paid."""
    return (api_type,) if api_type in TYPE_NAMES and api_type != KEY_SPELLING else ()


def other_name(name: str) -> str | None:
    """The other Avatar Shots name, or None for a type that is not one of them."""
    if name not in TYPE_NAMES:
        return None
    return TYPE_NAMES[1] if name == TYPE_NAMES[0] else TYPE_NAMES[0]
