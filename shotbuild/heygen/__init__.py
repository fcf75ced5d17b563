"""The HeyGen API client: one async httpx client, typed answers, one error tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shotbuild.heygen.origin import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from shotbuild.heygen.client import HeyGenClient
    from shotbuild.heygen.errors import (
        ApiError,
        AuthError,
        CreditError,
        InvalidRequest,
        LinkExpired,
        MissingApiKey,
        NetworkError,
        NotFound,
        RateLimited,
        RequestInProgress,
        ServerError,
    )
    from shotbuild.heygen.models import Asset, CreatedVideo, Look, VideoStatus, WebhookEndpoint
    from shotbuild.heygen.retry import RetryPolicy

# The client and its models load httpx, the errors their dataclasses: imported on
# first use, so that the origin (needed for keys) stays light.
_ERRORS = (
    "ApiError",
    "AuthError",
    "CreditError",
    "InvalidRequest",
    "LinkExpired",
    "MissingApiKey",
    "NetworkError",
    "NotFound",
    "RateLimited",
    "RequestInProgress",
    "ServerError",
)
_LAZY = {
    **dict.fromkeys(_ERRORS, "errors"),
    "HeyGenClient": "client",
    "Asset": "models",
    "CreatedVideo": "models",
    "Look": "models",
    "VideoStatus": "models",
    "WebhookEndpoint": "models",
    "RetryPolicy": "retry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"shotbuild.heygen.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'shotbuild.heygen' has no attribute {name!r}")


__all__ = [
    "DEFAULT_BASE_URL",
    "ApiError",
    "Asset",
    "AuthError",
    "CreatedVideo",
    "CreditError",
    "HeyGenClient",
    "InvalidRequest",
    "LinkExpired",
    "Look",
    "MissingApiKey",
    "NetworkError",
    "NotFound",
    "RateLimited",
    "RequestInProgress",
    "RetryPolicy",
    "ServerError",
    "VideoStatus",
    "WebhookEndpoint",
]
