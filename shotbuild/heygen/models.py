"""What the HeyGen API answers, as small immutable values. Parsing is tolerant:
only the fields the API guarantees are required; the rest default to None, and
fields shotbuild does not know are ignored, so additions to the API break nothing.
Every answer is untrusted (a proxy or a broken gateway may send anything): ids must
be bounded safe tokens, texts are bounded and made one safe line, numbers finite."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from shotbuild import untrusted
from shotbuild.heygen.errors import bad_answer
from shotbuild.untrusted import BadValue

MAX_URL = 16_384  # a presigned URL with all its signature parameters
MAX_FIELD = 1_000  # a title, a status, a code

if TYPE_CHECKING:
    from shotbuild.heygen.drift import Phase


def _req(data: Mapping[str, Any], key: str, action: str, limit: int = MAX_FIELD) -> str:
    """A required field: present and at most `limit` characters, as one printable line."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    if not isinstance(value, str) or not value:
        raise bad_answer(action, f"no '{key}' in the data")
    if len(value) > limit:
        raise bad_answer(action, f"'{key}' is {len(value):,} characters long (at most {limit})")
    return untrusted.one_line(value, limit)


def _id(data: Mapping[str, Any], key: str, action: str) -> str:
    """An id shotbuild keeps (in the cache, the lock, a URL): a bounded safe token."""
    value = _req(data, key, action)
    try:
        return untrusted.token(value, key)
    except BadValue as e:
        raise bad_answer(action, str(e)) from None


def _opt_str(data: Mapping[str, Any], key: str, limit: int = MAX_FIELD) -> str | None:
    """An optional text: None when absent, not a string, or longer than `limit`."""
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    return untrusted.one_line(value, limit)


def _opt_url(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    return value if value.isprintable() and " " not in value else None


def _opt_num(data: Mapping[str, Any], key: str) -> float | None:
    """A finite number (or a numeric string of sane length), else None."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > 40:
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _opt_seconds(data: Mapping[str, Any], key: str) -> float | None:
    """A duration: finite, 0 to a day; anything else is unknown (None), never a lock value."""
    number = _opt_num(data, key)
    if number is None or not 0 <= number <= untrusted.MAX_DURATION:
        return None
    return number


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    number = _opt_num(data, key)
    return int(number) if number is not None and abs(number) < 1e15 else None


@dataclass(frozen=True)
class CreatedVideo:
    """The answer to POST /v3/videos."""

    video_id: str
    status: str  # pending, waiting, ...: anything not terminal is in progress
    output_format: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CreatedVideo:
        action = "POST /v3/videos"
        return cls(
            video_id=_id(data, "video_id", action),
            status=_opt_str(data, "status") or "pending",
            output_format=_opt_str(data, "output_format"),
        )


SINGLE_STATUS = "GET /v3/videos/{id}"
MAX_WORD = 64  # a status word: pending, processing, completed, ... (and what may come)


@dataclass(frozen=True)
class VideoStatus:
    """A job's status: the answer to GET /v3/videos/{id} (keyed `id`) or one item of
    GET /v3/videos/statuses (keyed `video_id`). Only the ID and `status` are
    guaranteed. The words differ by endpoint (`pending` here, `queued` there, and
    `not_found` only in bulk): `phase` says what any of them means."""

    id: str
    status: str
    video_url: str | None = None
    duration: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    title: str | None = None
    created_at: int | None = None
    completed_at: int | None = None
    thumbnail_url: str | None = None

    @property
    def video_id(self) -> str:
        return self.id

    @property
    def phase(self) -> Phase:
        """In progress (any word not documented as terminal), completed, failed or gone."""
        from shotbuild.heygen.drift import phase_of

        return phase_of(self.status)

    @property
    def done(self) -> bool:
        """True once the job can change no more: completed, failed or not found."""
        from shotbuild.heygen.drift import Phase

        return self.phase is not Phase.IN_PROGRESS

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def not_found(self) -> bool:
        return self.status == "not_found"

    @property
    def known(self) -> bool:
        """False for a status word HeyGen does not document (taken as in progress)."""
        from shotbuild.heygen.drift import is_known_status

        return is_known_status(self.status)

    @classmethod
    def from_api(
        cls, data: Mapping[str, Any], action: str = SINGLE_STATUS, id_key: str = "id"
    ) -> VideoStatus:
        """Read field by field: the ID under `id_key` (else under the other name) must
        be a safe token, the status a short line; the rest is None when malformed."""
        key = id_key if id_key in data else ("video_id" if id_key == "id" else "id")
        return cls(
            id=_id(data, key, action),
            status=_req(data, "status", action, limit=MAX_WORD),
            video_url=_opt_url(data, "video_url"),
            duration=_opt_seconds(data, "duration"),
            failure_code=_opt_str(data, "failure_code"),
            failure_message=_opt_str(data, "failure_message", untrusted.MAX_TEXT),
            title=_opt_str(data, "title", untrusted.MAX_TEXT),
            created_at=_opt_int(data, "created_at"),
            completed_at=_opt_int(data, "completed_at"),
            thumbnail_url=_opt_url(data, "thumbnail_url"),
        )


@dataclass(frozen=True)
class Look:
    """One avatar look from GET /v3/avatars/looks."""

    id: str
    name: str | None = None
    avatar_type: str | None = None
    preferred_orientation: str | None = None
    preview_image_url: str | None = None
    status: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Look:
        return cls(
            id=_req(data, "id", "GET /v3/avatars/looks"),
            name=_opt_str(data, "name"),
            avatar_type=_opt_str(data, "avatar_type"),
            preferred_orientation=_opt_str(data, "preferred_orientation"),
            preview_image_url=_opt_url(data, "preview_image_url"),
            status=_opt_str(data, "status"),
        )

    def as_json(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "name": self.name,
            "avatar_type": self.avatar_type,
            "preferred_orientation": self.preferred_orientation,
            "preview_image_url": self.preview_image_url,
            "status": self.status,
        }


@dataclass(frozen=True)
class Asset:
    """An uploaded file, usable as `{"type": "asset_id", "asset_id": ...}`."""

    asset_id: str
    url: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], action: str = "POST /v3/assets") -> Asset:
        return cls(
            asset_id=_id(data, "asset_id", action),
            url=_opt_url(data, "url"),
            mime_type=_opt_str(data, "mime_type"),
            size_bytes=_opt_int(data, "size_bytes"),
        )


@dataclass(frozen=True)
class WebhookEndpoint:
    """A registered webhook endpoint; `secret` (shown once) signs the deliveries."""

    endpoint_id: str
    url: str
    events: tuple[str, ...] = ()
    status: str | None = None
    secret: str | None = None
    created_at: str | None = None

    def __repr__(self) -> str:  # the secret is a credential: keep it out of logs
        return (
            f"WebhookEndpoint(endpoint_id={self.endpoint_id!r}, url={self.url!r}, "
            f"events={self.events!r}, status={self.status!r})"
        )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookEndpoint:
        action = "POST /v3/webhooks/endpoints"
        events = data.get("events")
        created = data.get("created_at")
        return cls(
            endpoint_id=_id(data, "endpoint_id", action),
            url=_req(data, "url", action),
            events=tuple(e for e in events if isinstance(e, str))
            if isinstance(events, list)
            else (),
            status=_opt_str(data, "status"),
            secret=_opt_str(data, "secret"),
            created_at=untrusted.one_line(str(created), 40) if created is not None else None,
        )


# -- the account: GET /v3/users/me ------------------------------------------------------
# Any field may be missing, null or of another type: each is read on its own, and what
# cannot be read is None ("unknown"), never zero and never enough.

BILLING_TYPES = ("wallet", "subscription", "usage_based")
_MAX_BALANCE = Decimal(10) ** 12
_DECIMAL_TEXT = re.compile(r"-?\d{1,13}(\.\d{1,8})?")


def _amount(data: Mapping[str, Any] | None, key: str) -> Decimal | None:
    """A finite amount (a JSON number, or a plain decimal string), else None."""
    value = data.get(key) if data is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and abs(amount) < _MAX_BALANCE else None


def _word(data: Mapping[str, Any] | None, key: str, limit: int = 64) -> str | None:
    value = data.get(key) if data is not None else None
    try:
        word = untrusted.text(value, key, limit=limit)
    except untrusted.BadValue:
        return None
    return word.strip().lower() or None


def _name(data: Mapping[str, Any], key: str) -> str | None:
    try:
        value = untrusted.text(data.get(key), key, limit=200)
    except untrusted.BadValue:
        return None
    return " ".join(value.split()) or None  # one printable line


def _sub(data: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
    value = data.get(key) if data is not None else None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Wallet:
    """A prepaid wallet (API-key auth). `currency` is "usd" or "credits" when known."""

    currency: str | None = None
    remaining_balance: Decimal | None = None
    auto_reload: bool | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Wallet:
        reload = _sub(data, "auto_reload")
        enabled = reload.get("enabled") if reload is not None else None
        return cls(
            currency=_word(data, "currency"),
            remaining_balance=_amount(data, "remaining_balance"),
            auto_reload=enabled if isinstance(enabled, bool) else None,
        )


@dataclass(frozen=True)
class UsageBased:
    """Pay per use up to a cap, in USD; each field may be unknown."""

    spending_cap_usd: Decimal | None = None
    spending_current_usd: Decimal | None = None
    remaining_credits: Decimal | None = None
    included_credits: Decimal | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> UsageBased:
        return cls(
            spending_cap_usd=_amount(data, "spending_cap_usd"),
            spending_current_usd=_amount(data, "spending_current_usd"),
            remaining_credits=_amount(data, "remaining_credits"),
            included_credits=_amount(data, "included_credits"),
        )


@dataclass(frozen=True)
class Subscription:
    """A web plan paying in credits (OAuth apps): no dollar balance."""

    plan: str | None = None
    premium_credits: Decimal | None = None
    add_on_credits: Decimal | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Subscription:
        credits = _sub(data, "credits")
        return cls(
            plan=_word(data, "plan"),
            premium_credits=_amount(_sub(credits, "premium_credits"), "remaining"),
            add_on_credits=_amount(_sub(credits, "add_on_credits"), "remaining"),
        )


@dataclass(frozen=True)
class Account:
    """The answer to GET /v3/users/me. `billing` is how it pays, when that can be told:
    `billing_type` if it names a known kind, else the one billing object that is filled."""

    username: str | None = None
    billing_type: str | None = None
    wallet: Wallet | None = None
    subscription: Subscription | None = None
    usage_based: UsageBased | None = None

    def __repr__(self) -> str:  # no e-mail or names: an account is not for logs
        return f"Account(username={self.username!r}, billing={self.billing!r})"

    @property
    def billing(self) -> str | None:
        filled = [
            kind
            for kind, part in zip(
                BILLING_TYPES, (self.wallet, self.subscription, self.usage_based), strict=True
            )
            if part is not None
        ]
        if self.billing_type in BILLING_TYPES:
            return self.billing_type if self.billing_type in filled else None
        return filled[0] if len(filled) == 1 else None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Account:
        wallet, sub, usage = (_sub(data, k) for k in BILLING_TYPES)
        billing = _word(data, "billing_type")
        return cls(
            username=_name(data, "username"),
            billing_type=billing if billing in BILLING_TYPES else None,
            wallet=Wallet.from_api(wallet) if wallet is not None else None,
            subscription=Subscription.from_api(sub) if sub is not None else None,
            usage_based=UsageBased.from_api(usage) if usage is not None else None,
        )
