"""The HeyGen API client: one async httpx client, typed answers, one error tree."""

from __future__ import annotations

from shotbuild.heygen.client import DEFAULT_BASE_URL, HeyGenClient
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
