"""Where the API is: the base URL's origin, with the standard library only, so the
key of a shot (which includes the origin) is computed without loading httpx."""

from __future__ import annotations

from urllib.parse import urlsplit

TYPE_CHECKING = False  # typing is not needed here
if TYPE_CHECKING:
    from shotbuild.heygen.errors import ApiError

DEFAULT_BASE_URL = "https://api.heygen.com"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HINT = "set HEYGEN_BASE_URL to an http(s) URL such as https://api.heygen.com"


def origin_of(base_url: str) -> str:
    """scheme://host[:port] of an http(s) base URL, lower-case, default ports dropped."""
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port
    except ValueError as e:
        raise _bad(f"the HeyGen base URL {base_url!r} is not a URL ({e}): {_HINT}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise _bad(f"the HeyGen base URL {base_url!r} is not an http(s) URL: {_HINT}")
    host = f"[{host}]" if ":" in host else host
    if port is None or _DEFAULT_PORTS[scheme] == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


LOOPBACK = "loopback"  # the one identity in a key of every API on this machine
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def is_loopback(origin: str) -> bool:
    """An http(s) origin on this machine (127.0.0.1, localhost, ::1), any port."""
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in _DEFAULT_PORTS:
        return False
    host = rest if rest.endswith("]") else rest.rsplit(":", 1)[0]
    return host in _LOOPBACK_HOSTS


def _bad(message: str) -> ApiError:
    """The error of a base URL that is not one (the error tree is imported only then)."""
    from shotbuild.heygen.errors import ApiError

    return ApiError(message)


def key_identity(identity: str) -> str:
    """The backend identity a shot's key is made with: every loopback origin is one
    (an emulator restarted on another port changes no key); any other identity is
    itself, so an emulator's renders never pass for real ones."""
    return LOOPBACK if is_loopback(identity) else identity
