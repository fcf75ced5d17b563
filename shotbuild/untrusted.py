"""Reading what comes from outside: bounded JSON and field checks.

The lock, the build folder's files, the remote cache, the config and every API
answer may come from someone else (a pull request, a shared bucket, a proxy).
Each reader parses with `load_json` (size and depth bounded, duplicate keys
refused, no NaN or Infinity) and then takes each field through one of the
checks below, which return the typed value or raise `BadValue` saying what is
wrong. A reader turns a BadValue into its own one-line error naming the file.
The bytes of a file come from `shotbuild.regularfile.read_regular` (bounded, a
regular file only; kept apart so the no-op fast path can read without this module's
imports)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from shotbuild.errors import ShotbuildError

MAX_JSON_BYTES = 64 << 20  # a lock of 100,000 shots is ~40 MiB
MAX_JSON_DEPTH = 32  # no format of ours nests deeper than 8
MAX_SIZE = 1 << 40  # bytes of one video: 1 TiB is beyond any render
MAX_DURATION = 24 * 3600.0  # seconds of one video
MAX_TEXT = 10_000  # characters of a free text kept from outside (a message, a prompt)

_DIGITS = 20  # of an integer from outside

# what each field from outside may be, as pattern text (no capturing group: the lock
# and manifest readers compose them into one pattern per written entry)
SHA256 = r"[0-9a-f]{64}"
TOKEN = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}"  # video_id, asset_id
SHOT_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z"
ORIGIN = r"https?://[A-Za-z0-9.\-\[\]:]{1,300}"

_SHA256 = re.compile(SHA256)
_TOKEN = re.compile(TOKEN)
_SHOT_NAME = re.compile(SHOT_NAME)
_TIMESTAMP = re.compile(TIMESTAMP)
_ORIGIN = re.compile(ORIGIN)

# the same shapes as predicates, for a hot reader's fast path (a str in, a match or None)
is_sha256 = _SHA256.fullmatch
is_token = _TOKEN.fullmatch
is_shot_name = _SHOT_NAME.fullmatch
is_timestamp = _TIMESTAMP.fullmatch
is_origin = _ORIGIN.fullmatch


class BadValue(ShotbuildError):
    """A value from outside is not of the shape it must have."""


def load_json(
    text: str | bytes,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_digits: int = _DIGITS,
    check_depth: bool = True,
) -> Any:
    """Parse JSON from outside: at most `max_bytes`, `MAX_JSON_DEPTH` levels, no
    duplicate keys, no NaN/Infinity, numbers of sane length. Raises BadValue.
    `check_depth=False` is for a hot reader that checks the type of every value
    itself (so nothing nested deeper than its format gets through); the decoder
    still stops near 1,000 levels."""
    if len(text) > max_bytes:
        raise BadValue(f"larger than {max_bytes:,} bytes")
    raw = text.decode("utf-8", errors="strict") if isinstance(text, bytes) else text
    try:
        doc = json.loads(
            raw,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_int=_int if max_digits == _DIGITS else lambda digits: _int(digits, max_digits),
            parse_float=_float,
        )
    except json.JSONDecodeError as e:
        raise BadValue(f"not valid JSON at line {e.lineno} column {e.colno} ({e.msg})") from None
    except RecursionError:  # the C decoder stops near 1,000 levels
        raise BadValue(f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    if check_depth:
        _check_depth(doc)
    return doc


def load_json_unhooked(text: str) -> Any:
    """JSON parsed with only the number checks of `load_json` that are cheap (NaN,
    Infinity and over-long or infinite floats refused: one call per float), for a
    hot reader that proves the rest itself: no size or depth bound, duplicate keys
    NOT refused, integers NOT bounded in length. Raises what json.loads raises."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_float)


def check_depth(doc: Any) -> None:
    """BadValue when `doc` nests more than MAX_JSON_DEPTH levels (what `load_json`
    checks unless told not to)."""
    _check_depth(doc)


def _check_depth(doc: Any) -> None:
    """At most MAX_JSON_DEPTH levels, walked without recursion after parsing (the
    decoder itself stops near 1,000 levels); cheaper than scanning the text."""
    stack = [(doc, 1)] if type(doc) in (dict, list) else []
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadValue(f"nested more than {MAX_JSON_DEPTH} levels deep")
        for item in value.values() if type(value) is dict else value:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, depth + 1))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # the loop runs in C; a key seen twice makes the dict shorter
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadValue(f"the key {show(key)} appears twice")
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise BadValue(f"{name} is not a number JSON allows")


def _int(text: str, max_digits: int = _DIGITS) -> int:
    if len(text) > max_digits:
        raise BadValue(f"a number of {len(text)} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > 40:
        raise BadValue(f"a number of {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise BadValue(f"{text[:20]} is out of range")
    return value


def show(value: Any, limit: int = 60) -> str:
    """A short, printable rendering of a bad value for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadValue(f"{what} must be an object, not {type(value).__name__}")
    return value


def text(value: Any, what: str, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise BadValue(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise BadValue(f"{what} is longer than {limit:,} characters")
    return value


def _match(pattern: re.Pattern[str], value: Any, what: str, shape: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BadValue(f"{what} must be {shape}, not {show(value)}")
    return value


def sha256(value: Any, what: str = "sha256") -> str:
    return _match(_SHA256, value, what, "64 lowercase hex digits")


def token(value: Any, what: str = "video_id") -> str:
    return _match(_TOKEN, value, what, "a token of 1-128 letters, digits and _.:-")


def shot_name(value: Any, what: str = "shot name") -> str:
    return _match(_SHOT_NAME, value, what, "a shot name (letters, digits, ._-; 1-100)")


def timestamp(value: Any, what: str = "built_at") -> str:
    return _match(_TIMESTAMP, value, what, "a UTC time like 2026-12-01T09:30:00Z")


def origin(value: Any, what: str = "origin") -> str:
    return _match(_ORIGIN, value, what, "an http(s) origin")


def count(value: Any, what: str, *, limit: int = MAX_SIZE) -> int:
    """A non-negative integer up to `limit` (bools are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise BadValue(f"{what} must be a whole number from 0 to {limit:,}, not {show(value)}")
    return value


def seconds(value: Any, what: str = "duration", *, limit: float = MAX_DURATION) -> float:
    """A finite, non-negative number of seconds up to `limit`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(f"{what} must be a number of seconds, not {show(value)}")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= limit:
        raise BadValue(f"{what} must be from 0 to {limit:g} seconds, not {show(value)}")
    return number


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL.pop(0x09)  # a tab is harmless


def printable(value: str) -> str:
    """Text from outside made safe for a terminal: control characters (ESC, CR,
    BEL, C1 codes...) shown as \\xNN, so no answer can move the cursor, set the
    title or fake a line."""
    return value.translate(_CONTROL)


# -- text from outside, on its way to a person --------------------------------------

_SECRETS: set[str] = set()
REDACTED = "[HEYGEN_API_KEY]"
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{dev}{n}" for dev in ("com", "lpt") for n in (*"123456789", "¹", "²", "³")}
)


def add_secret(secret: str) -> None:
    """Register a credential (the API key) that `redact` removes from every text."""
    if len(secret) >= 4:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """`text` with every registered secret (and HEYGEN_API_KEY) replaced."""
    from shotbuild.settings import heygen_access

    secrets = set(_SECRETS)
    env_key = heygen_access().api_key or ""
    if len(env_key) >= 4:
        secrets.add(env_key)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def terminal_safe(text: str) -> str:
    """`text` with control characters (ESC, CR, BEL, C1, bidi overrides...) escaped,
    so that text from outside cannot move the cursor, retitle the terminal or fake a
    line; new lines and tabs are kept."""
    if text.isprintable():
        return text
    return "\n".join(printable(line).translate(_INVISIBLE) for line in text.split("\n"))


# format characters that reorder or hide text on a terminal (bidi overrides, ...)
_INVISIBLE = {c: f"\\u{c:04x}" for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F))}
_INVISIBLE.update({c: f"\\u{c:04x}" for c in (*range(0x2066, 0x206A), 0xFEFF)})


def one_line(text: str, limit: int = 200) -> str:
    """A text from outside as it may be kept or shown: secrets redacted first, then
    white space folded into one line, control characters escaped, and only then cut
    to `limit` characters (cutting first would leave part of a secret)."""
    folded = " ".join(redact(text).split())
    safe = terminal_safe(folded)
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."


def windows_reserved(name: str) -> bool:
    """Whether `name` (a file name without folder) means a device on Windows
    (CON, nul.mp4, COM1, ...), so an output of that name could not be written there."""
    stem = name.split(".", 1)[0].rstrip(" ").casefold()
    return stem in _WINDOWS_RESERVED
