"""The HeyGen error tree, and its translation from what the API (or a gateway in
front of it) answers. Every message is one line that says what to do next; none
contains the API key (the client also redacts it as a last guard)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shotbuild.errors import ShotbuildError
from shotbuild.untrusted import BadValue, load_json, one_line

if TYPE_CHECKING:  # httpx is loaded only by the client, never by plans or no-op builds
    import httpx

KEY_VAR = "HEYGEN_API_KEY"


class ApiError(ShotbuildError):
    """Something went wrong talking to HeyGen (or the emulator)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


class AuthError(ApiError):
    """401/403 on an API call: the key is wrong or lacks access."""

    whole_build = True  # every other shot would be refused the same way


class CreditError(ApiError):
    """402: the account is out of credit."""

    whole_build = True  # no other shot can be paid for either: said once, not per shot


class InvalidRequest(ApiError):
    """400/422: the request body broke a rule; `.param` names the field when known."""


class NotFound(ApiError):
    """404: no such video, look or asset."""


class RateLimited(ApiError):
    """429, still there after the retries allowed; `.retry_after` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx (or an answer that is not what the API promises), after retries."""


class NetworkError(ApiError):
    """No answer: connection refused or dropped, or a timeout, after retries."""


class RequestInProgress(ApiError):
    """409 request_in_progress: an earlier create with this Idempotency-Key is still running."""


class LinkExpired(ApiError):
    """403/404 on a presigned download URL: ask for the video's status again for a fresh one."""


class MissingApiKey(ApiError):
    """No HEYGEN_API_KEY in the environment."""

    def __init__(self, *, offline_hint: bool = False) -> None:
        """`offline_hint`: the caller can render offline instead (a build can; `looks`
        cannot), so the message says how."""
        hint = ", or use --backend preview to render offline animatics" if offline_hint else ""
        super().__init__(f"{KEY_VAR} is not set: export your HeyGen API key as {KEY_VAR}{hint}")


def error_body(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """(code, message, param) from HeyGen's `{"error": {...}}`, or Nones when the body
    is not that shape (a gateway's HTML, an empty body, another JSON)."""
    try:
        doc = load_json(response.content, max_bytes=1 << 20)
    except (ValueError, BadValue):
        return None, None, None
    err = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(err, str):  # some gateways and older endpoints: {"error": "text"}
        return None, err, None
    if not isinstance(err, dict):
        return None, None, None
    code, message, param = (_str(err.get(k)) for k in ("code", "message", "param"))
    return (
        _one_line(code, 80) if code else None,
        message,
        _one_line(param, 80) if param else None,
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _said(code: str | None, message: str | None) -> str:
    """`` (429 rate_limit_exceeded: Too many requests)``-style detail, one line."""
    parts = " ".join(p for p in (code, f"'{_one_line(message)}'" if message else None) if p)
    return f": {parts}" if parts else ""


def _one_line(text: str, limit: int = 200) -> str:
    """Redacted before it is cut (a cut key would escape redaction), then escaped."""
    return one_line(text, limit)


# status -> (error class, message template); {action}, {said}, {field}, {when}, {status}
_BY_STATUS: dict[int, tuple[type[ApiError], str]] = {
    401: (
        AuthError,
        f"{KEY_VAR} was rejected (401): check the key in your HeyGen account settings and"
        f" set {KEY_VAR} to it, or use --backend preview to work offline",
    ),
    402: (
        CreditError,
        "HeyGen: the account is out of credit (402{said}): add credit in the HeyGen "
        "dashboard, then run the build again (finished shots are kept)",
    ),
    403: (
        AuthError,
        "HeyGen refused {action} (403{said}): check that the key in "
        f"{KEY_VAR} has access to this feature",
    ),
    404: (NotFound, "HeyGen has no such resource for {action} (404{said}): check the id"),
    409: (
        RequestInProgress,
        "HeyGen is still handling an earlier {action} with the same Idempotency-Key (409): "
        "wait a little and run again; it will not be paid twice",
    ),
    429: (RateLimited, "HeyGen rate limit on {action} (429{said}): {when}, or lower --jobs"),
    400: (
        InvalidRequest,
        "HeyGen rejected {action}{field} ({status}{said}): fix that value in the spec "
        "(look and asset IDs are known only to HeyGen, so validate cannot check them "
        "offline: `shotbuild looks` lists the account's looks)",
    ),
    500: (
        ServerError,
        "HeyGen server error on {action} ({status}{said}): try again in a few minutes; "
        "shots already submitted are resumed, not paid twice",
    ),
}


def from_response(
    response: httpx.Response, *, action: str, retry_after: float | None = None
) -> ApiError:
    """The ApiError for an HTTP error answer to `action` (e.g. "POST /v3/videos")."""
    status = response.status_code
    code, message, param = error_body(response)
    key = status
    if status not in _BY_STATUS or (status == 409 and code != "request_in_progress"):
        key = 400 if 400 <= status < 500 else 500
    cls, template = _BY_STATUS[key]
    said = _said(code, message)
    if key == 500 and not said:
        said = ": a non-JSON answer, likely from a gateway"
    text = template.format(
        action=action,
        said=said,
        status=status,
        field=f" in field '{param}'" if param else "",
        when=f"retry after {retry_after:g} s" if retry_after is not None else "retry later",
    )
    kw: dict[str, Any] = {"status": status, "code": code, "param": param}
    if cls is RateLimited:
        return RateLimited(text, retry_after=retry_after, **kw)
    return cls(text, **kw)


def from_transport(exc: httpx.TransportError, *, action: str, origin: str) -> NetworkError:
    """The NetworkError for a request that got no (complete) answer."""
    import httpx

    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = _one_line(str(exc)) or type(exc).__name__
    return NetworkError(
        f"{action} to {origin} {kind} ({type(exc).__name__}: {detail}): check the network "
        "or HEYGEN_BASE_URL, then run again",
    )


def bad_answer(action: str, what: str) -> ServerError:
    """The API answered 2xx with something that is not what it documents."""
    return ServerError(
        f"HeyGen's answer to {action} was not understood ({_one_line(what)}): try again; if it "
        "persists, the API may have changed: please report it",
    )
