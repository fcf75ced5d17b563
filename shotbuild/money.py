"""What renders cost: amounts of money, the price table, and whether an account
can pay for a build.

Avatar Shots are priced per video, not per second (HeyGen: $7.00 per
`cinematic_avatar` video, 4-15 s, as published in 2026). The table is shotbuild's
own, so a user can override it in the project config when HeyGen's prices change
(`price_per_video`, `currency`). Amounts are Decimals, never floats, so $7.00 x 3
is exactly $21.00. Nothing here touches the network: `check_affordable` judges an
account the HeyGen client has already read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from shotbuild.errors import ShotbuildError

if TYPE_CHECKING:
    from shotbuild.heygen.models import Account

USD = "USD"
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 9  # no build, wallet or price is near a billion
_CURRENCY = re.compile(r"[A-Z]{3}")
_SYMBOLS = {"USD": "$"}

# The two names HeyGen has used for the Avatar Shots model (see shotbuild.heygen.typenames).
AVATAR_SHOTS_TYPES = ("cinematic_avatar", "avatar_shots")
DEFAULT_PRICE_PER_VIDEO = Decimal("7.00")


class BadAmount(ShotbuildError):
    """A price or a limit is not an amount of money."""


class Money:
    """An amount in one currency, exact (Decimal); shown rounded to cents. Equal and
    ordered as (amount, currency) when both are Money, as the frozen dataclass it was;
    a plain class, not a tuple (whose + and * mean something else), so that the no-op
    build never imports dataclasses."""

    __slots__ = ("amount", "currency")

    def __init__(self, amount: Decimal, currency: str = USD) -> None:
        self.amount: Final = amount
        self.currency: Final = currency

    def __repr__(self) -> str:
        return f"Money(amount={self.amount!r}, currency={self.currency!r})"

    def _key(self) -> tuple[Decimal, str]:
        return (self.amount, self.currency)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Money) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Money) -> bool:
        return self._key() < other._key() if isinstance(other, Money) else NotImplemented

    def __le__(self, other: Money) -> bool:
        return self._key() <= other._key() if isinstance(other, Money) else NotImplemented

    def __gt__(self, other: Money) -> bool:
        return self._key() > other._key() if isinstance(other, Money) else NotImplemented

    def __ge__(self, other: Money) -> bool:
        return self._key() >= other._key() if isinstance(other, Money) else NotImplemented

    def __str__(self) -> str:
        cents = self.amount.quantize(CENT, rounding=ROUND_HALF_UP)
        sign, digits = ("-", -cents) if cents < 0 else ("", cents)
        symbol = _SYMBOLS.get(self.currency)
        return f"{sign}{symbol}{digits:,}" if symbol else f"{sign}{digits:,} {self.currency}"

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, factor: int | Decimal) -> Money:
        return Money(self.amount * factor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")

    def as_json(self) -> dict[str, str]:
        """{"amount": "21.00", "currency": "USD"}: a string, so no float creeps in."""
        return {
            "amount": f"{self.amount.quantize(CENT, rounding=ROUND_HALF_UP)}",
            "currency": self.currency,
        }


def zero(currency: str = USD) -> Money:
    return Money(Decimal(0), currency)


def parse_amount(value: Any, what: str) -> Decimal:
    """A non-negative amount from config or the command line: 7, 7.5, "7.00", "$7.00".
    Raises BadAmount with a one-line message naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadAmount(f"{what} must be an amount such as 7.00, not {value!r}")
    text = str(value).strip().removeprefix("$").replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadAmount(f"{what} must be an amount such as 7.00, not {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise BadAmount(f"{what} must be an amount from 0 to {MAX_AMOUNT:,}, not {value!r}")
    return amount


def parse_currency(value: Any, what: str = "currency") -> str:
    """A three-letter currency code (USD, EUR); case does not matter."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value.strip().upper()):
        raise BadAmount(f'{what} must be a three-letter code such as "USD", not {value!r}')
    return value.strip().upper()


# -- the price table -------------------------------------------------------------


class Price(NamedTuple):
    """What one render of a type costs: flat per video, or per second of video."""

    amount: Money
    per: Literal["video", "second"] = "video"

    def cost(self, seconds: float | None = None) -> Money:
        """The price of one render; a per-second price needs its `seconds`."""
        if self.per == "video":
            return self.amount
        if seconds is None:
            raise ValueError("a per-second price needs the render's seconds")
        return self.amount.times(Decimal(str(seconds)))

    def __str__(self) -> str:
        return f"{self.amount} per {self.per}"


class PriceTable(NamedTuple):
    """Prices by API type. `source` says where they came from (for `doctor`)."""

    prices: Mapping[str, Price] = {}  # never changed: a Mapping
    source: str = "shotbuild's defaults, from HeyGen's pricing page in 2026"

    def price_of(self, api_type: str) -> Price | None:
        """The price of one render of `api_type`, or None when the table has none."""
        return self.prices.get(api_type)

    @property
    def currency(self) -> str:
        return next(iter(self.prices.values())).amount.currency if self.prices else USD

    def cost(self, api_type: str, renders: int = 1, seconds: float | None = None) -> Money | None:
        """What `renders` renders of `api_type` (each of `seconds`) cost; None if unpriced."""
        price = self.price_of(api_type)
        return price.cost(seconds).times(renders) if price is not None else None

    def total(self, renders: Iterable[tuple[str, float | None]]) -> Money | None:
        """The cost of (api_type, seconds) renders together; None if any is unpriced."""
        total = zero(self.currency)
        for api_type, seconds in renders:
            cost = self.cost(api_type, 1, seconds)
            if cost is None:
                return None
            total = total + cost
        return total

    def lines(self) -> list[str]:
        """One "type: $7.00 per video" line per entry."""
        return [f"{name}: {price}" for name, price in sorted(self.prices.items())]


def default_table() -> PriceTable:
    price = Price(Money(DEFAULT_PRICE_PER_VIDEO))
    return PriceTable({name: price for name in AVATAR_SHOTS_TYPES})


class MoneySettings(NamedTuple):
    """The money settings of the project config; None where the file says nothing."""

    price_per_video: Decimal | None = None
    currency: str | None = None
    max_cost: Decimal | None = None
    confirm: bool | None = None

    def table(self) -> PriceTable:
        """The price table in force: the defaults, with the file's overrides."""
        if self.price_per_video is None and self.currency is None:
            return default_table()
        amount = (
            self.price_per_video if self.price_per_video is not None else DEFAULT_PRICE_PER_VIDEO
        )
        price = Price(Money(amount, self.currency or USD))
        return PriceTable({n: price for n in AVATAR_SHOTS_TYPES}, source="the project config")

    def limit(self) -> Money | None:
        """`max_cost` as Money in the table's currency, or None when not set."""
        if self.max_cost is None:
            return None
        return Money(self.max_cost, self.currency or USD)


def max_cost_option(value: str, table: PriceTable) -> Money:
    """`build --max-cost AMOUNT` as Money in the table's currency (one-line error if bad)."""
    return Money(parse_amount(value, "--max-cost"), table.currency)


def over_limit(cost: Money, limit: Money | None, renders: int) -> str | None:
    """The one-line refusal when `cost` exceeds `limit`, else None."""
    if limit is None or cost.currency != limit.currency or cost <= limit:
        return None
    return (
        f"this build would spend {cost} on {renders} render{'s' if renders != 1 else ''}, "
        f"more than the limit of {limit}: raise --max-cost (or max_cost), or build fewer shots"
    )


class CannotAfford(ShotbuildError):
    """A build would spend more than its limit or the account can pay: nothing was created."""


def refuse_over_limit(cost: Money, limit: Money | None, renders: int) -> None:
    """Raise CannotAfford when `cost` exceeds `limit` (the build's --max-cost/max_cost)."""
    line = over_limit(cost, limit, renders)
    if line is not None:
        raise CannotAfford(line)


def renders_and_money(renders: int, cost: Money) -> str:
    """ "3 renders, $21.00" """
    return f"{renders} render{'s' if renders != 1 else ''}, {cost}"


def confirmation_question(renders: int, cost: Money) -> str:
    """What a build asks on a terminal before paying: "3 renders, $21.00. Render?" """
    return f"{renders_and_money(renders, cost)}. Render?"


def should_confirm(*, renders: int, yes: bool, interactive: bool, confirm: bool | None) -> bool:
    """Ask only on a terminal (`interactive`), only before paying, never with -y/--yes
    or `confirm = false` in the config: CI and scripts are never asked."""
    return renders > 0 and interactive and not yes and confirm is not False


def paid_line(renders: int, cost: Money) -> str:
    """The summary's line of what this run paid (resumed jobs are not counted again)."""
    return f"paid this run: {renders_and_money(renders, cost)}"


# -- can the account pay? ----------------------------------------------------------


class Affordable(Enum):
    ENOUGH = "enough"  # the balance covers the cost
    SHORT = "short"  # it does not: refuse before any create
    UNKNOWN = "unknown"  # no balance could be read: say so, go on
    CREDITS = "credits"  # paid in subscription credits, whose dollar value is unknown


class Verdict(NamedTuple):
    """What `check_affordable` found; `line` is what to tell the user (None: nothing)."""

    state: Affordable
    line: str | None = None
    available: Money | None = None

    @property
    def refuse(self) -> bool:
        return self.state is Affordable.SHORT


def check_affordable(account: Account | None, cost: Money) -> Verdict:
    """Whether `account` (None: it could not be read) can pay `cost`. Only a balance
    that was read and is too small refuses; anything unreadable is "unknown"."""
    if account is None:
        return _unknown("the account could not be read")
    if account.billing == "subscription":
        return _credits(account)
    if account.billing == "usage_based":
        usage = account.usage_based
        cap = usage.spending_cap_usd if usage else None
        spent = usage.spending_current_usd if usage else None
        if cap is None or spent is None:
            return _unknown("the usage-based spending cap could not be read")
        left = Money(cap - spent)
        return _judge(
            left, cost, f"the spending cap leaves {left} (cap {Money(cap)}, spent {Money(spent)})"
        )
    wallet = account.wallet
    if account.billing != "wallet" or wallet is None:
        return _unknown("the account shows no wallet, spending cap or subscription")
    if wallet.currency != "usd":
        return (
            _credits(account)
            if wallet.currency == "credits"
            else _unknown("the wallet's currency is unknown")
        )
    if wallet.remaining_balance is None:
        return _unknown("the wallet's remaining balance could not be read")
    left = Money(wallet.remaining_balance)
    return _judge(left, cost, f"the HeyGen wallet has {left} left")


def refuse_unaffordable(verdict: Verdict) -> str | None:
    """Raise CannotAfford when the verdict refuses; else the line to say once (or None)."""
    if verdict.refuse:
        raise CannotAfford(verdict.line or "the account cannot pay for this build")
    return verdict.line


def _judge(left: Money, cost: Money, has: str) -> Verdict:
    if cost.currency != USD:
        return _unknown(f"prices are in {cost.currency}, the account in USD")
    if left >= cost:
        return Verdict(Affordable.ENOUGH, None, left)
    return Verdict(
        Affordable.SHORT,
        f"{has}; this build needs {cost}: add credit in the HeyGen dashboard, "
        "or build fewer shots (nothing was created)",
        left,
    )


def _unknown(why: str) -> Verdict:
    return Verdict(Affordable.UNKNOWN, f"{why}, so the balance is not checked; going on")


def _credits(account: Account) -> Verdict:
    return Verdict(
        Affordable.CREDITS,
        "the account pays in HeyGen credits, whose price in dollars shotbuild does not know, "
        "so the balance is not checked; going on",
    )
