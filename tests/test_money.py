"""The price table, amounts of money and the balance check (no network)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shotbuild.heygen.models import Account
from shotbuild.money import (
    Affordable,
    BadAmount,
    Money,
    MoneySettings,
    Price,
    PriceTable,
    check_affordable,
    default_table,
    max_cost_option,
    over_limit,
    parse_amount,
    parse_currency,
)


def usd(text: str) -> Money:
    return Money(Decimal(text))


def test_three_avatar_shots_cost_21_dollars_under_either_name() -> None:
    table = default_table()
    assert str(table.cost("cinematic_avatar", 3)) == "$21.00"
    assert str(table.cost("avatar_shots", 3)) == "$21.00"
    assert table.cost("cinematic_avatar", 3, seconds=15) == table.cost("cinematic_avatar", 3, 4)


def test_a_flat_price_ignores_the_duration_and_a_per_second_one_does_not() -> None:
    table = PriceTable(
        {"cinematic_avatar": Price(usd("7")), "avatar": Price(usd("0.0667"), "second")}
    )
    total = table.total([("cinematic_avatar", 4.0), ("cinematic_avatar", 15.0), ("avatar", 10.0)])
    assert total == usd("14.667")
    assert str(total) == "$14.67"
    assert table.total([("studio", 10.0)]) is None  # not priced: unknown, not free
    with pytest.raises(ValueError, match="seconds"):
        Price(usd("0.05"), "second").cost(None)


def test_formatting() -> None:
    assert str(usd("21")) == "$21.00"
    assert str(usd("1234.5")) == "$1,234.50"
    assert str(usd("-3")) == "-$3.00"
    assert str(Money(Decimal("7"), "EUR")) == "7.00 EUR"
    assert usd("0.005").as_json() == {"amount": "0.01", "currency": "USD"}
    with pytest.raises(ValueError, match="EUR"):
        _ = usd("1") + Money(Decimal("1"), "EUR")


@pytest.mark.parametrize(
    ("value", "amount"), [(7, "7"), (7.5, "7.5"), ("7.00", "7.00"), ("$1,000", "1000"), (0, "0")]
)
def test_amounts_that_parse(value: Any, amount: str) -> None:
    assert parse_amount(value, "max_cost") == Decimal(amount)


@pytest.mark.parametrize("value", [-1, "lots", True, None, [7], "nan", "inf", 1e12, ""])
def test_amounts_that_do_not_parse_are_one_line(value: Any) -> None:
    with pytest.raises(BadAmount) as e:
        parse_amount(value, "max_cost")
    assert str(e.value).startswith("max_cost must be an amount")
    assert "\n" not in str(e.value)


def test_currency_codes() -> None:
    assert parse_currency("usd") == "USD"
    with pytest.raises(BadAmount, match="three-letter"):
        parse_currency("dollars")


def test_settings_override_the_table() -> None:
    assert MoneySettings().table() == default_table()
    table = MoneySettings(price_per_video=Decimal("6.5")).table()
    assert str(table.cost("avatar_shots", 2)) == "$13.00"
    assert table.source == "the project config"
    euro = MoneySettings(currency="EUR").table()
    assert str(euro.cost("cinematic_avatar")) == "7.00 EUR"
    assert MoneySettings(max_cost=Decimal(10)).limit() == usd("10")
    assert MoneySettings().limit() is None
    assert default_table().lines() == [
        "avatar_shots: $7.00 per video",
        "cinematic_avatar: $7.00 per video",
    ]


def test_max_cost() -> None:
    limit = max_cost_option("10", default_table())
    cost = default_table().cost("cinematic_avatar", 3)
    assert cost is not None
    line = over_limit(cost, limit, 3)
    assert line is not None and "$21.00 on 3 renders" in line and "$10.00" in line
    assert over_limit(usd("7"), limit, 1) is None
    assert over_limit(cost, None, 3) is None
    with pytest.raises(BadAmount, match="--max-cost"):
        max_cost_option("ten", default_table())


# -- the balance check ---------------------------------------------------------------


def account(**data: Any) -> Account:
    return Account.from_api(data)


def wallet(balance: Any, currency: Any = "usd") -> Account:
    return account(
        billing_type="wallet", wallet={"currency": currency, "remaining_balance": balance}
    )


def test_a_10_dollar_wallet_cannot_pay_21() -> None:
    verdict = check_affordable(wallet(10), usd("21"))
    assert verdict.refuse and verdict.state is Affordable.SHORT
    assert verdict.line is not None
    assert "$10.00 left" in verdict.line and "needs $21.00" in verdict.line
    assert "\n" not in verdict.line


def test_a_100_dollar_wallet_can() -> None:
    verdict = check_affordable(wallet(100), usd("21"))
    assert verdict.state is Affordable.ENOUGH and not verdict.refuse
    assert verdict.available == usd("100")
    assert check_affordable(wallet("21.00"), usd("21")).state is Affordable.ENOUGH


@pytest.mark.parametrize("balance", [None, "lots", True, [], {"usd": 5}, float("nan")])
def test_an_unreadable_wallet_balance_is_unknown_never_zero(balance: Any) -> None:
    verdict = check_affordable(wallet(balance), usd("21"))
    assert verdict.state is Affordable.UNKNOWN and not verdict.refuse
    assert verdict.line is not None and "not checked" in verdict.line


def test_a_usage_based_cap() -> None:
    def usage(cap: Any, spent: Any) -> Account:
        return account(
            billing_type="usage_based",
            usage_based={"spending_cap_usd": cap, "spending_current_usd": spent},
        )

    short = check_affordable(usage(50, 40), usd("21"))
    assert short.refuse and short.line is not None
    assert "leaves $10.00 (cap $50.00, spent $40.00)" in short.line
    assert check_affordable(usage(50, 20), usd("21")).state is Affordable.ENOUGH
    assert check_affordable(usage(None, 20), usd("21")).state is Affordable.UNKNOWN
    assert check_affordable(usage(50, None), usd("21")).state is Affordable.UNKNOWN


def test_subscription_credits_are_said_and_not_checked() -> None:
    sub = account(
        billing_type="subscription",
        subscription={"plan": "pro", "credits": {"premium_credits": {"remaining": 0}}},
    )
    verdict = check_affordable(sub, usd("21"))
    assert verdict.state is Affordable.CREDITS and not verdict.refuse
    assert verdict.line is not None and "credits" in verdict.line
    assert check_affordable(wallet(0, "credits"), usd("7")).state is Affordable.CREDITS


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"billing_type": None},
        {"billing_type": "wallet"},  # says wallet, shows none
        {"billing_type": "wallet", "wallet": None},
        {"billing_type": "barter", "wallet": None},
        {"wallet": {"currency": "doubloons", "remaining_balance": 100}},
    ],
)
def test_an_account_that_cannot_be_read_is_unknown(data: dict[str, Any]) -> None:
    assert check_affordable(Account.from_api(data), usd("7")).state is Affordable.UNKNOWN
    assert check_affordable(None, usd("7")).state is Affordable.UNKNOWN


def test_billing_is_inferred_from_the_one_filled_object() -> None:
    assert account(wallet={"currency": "usd", "remaining_balance": 3}).billing == "wallet"
    both = account(wallet={}, usage_based={})
    assert both.billing is None
    assert check_affordable(both, usd("7")).state is Affordable.UNKNOWN


def test_prices_in_another_currency_are_not_compared_with_dollars() -> None:
    verdict = check_affordable(wallet(1), Money(Decimal("7"), "EUR"))
    assert verdict.state is Affordable.UNKNOWN


# -- the project config ----------------------------------------------------------------


def test_config_money_settings(tmp_path: Any) -> None:
    from shotbuild.config import find_config

    (tmp_path / ".git").mkdir()
    (tmp_path / "shotbuild.toml").write_text(
        'remote_cache = "file:///x"\nprice_per_video = 6.5\ncurrency = "usd"\n'
        'max_cost = "50"\nconfirm = false\n'
    )
    config = find_config(tmp_path)
    assert config.remote_cache == "file:///x"
    money = config.money
    assert money == MoneySettings(Decimal("6.5"), "USD", Decimal("50"), False)
    assert str(money.table().cost("cinematic_avatar", 2)) == "$13.00"


def test_pyproject_money_settings(tmp_path: Any) -> None:
    from shotbuild.config import find_config

    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.shotbuild]\nmax_cost = 10\n")
    assert find_config(tmp_path).money.limit() == usd("10")
    assert find_config(tmp_path).money.table() == default_table()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("price_per_video = -7\n", "price_per_video must be an amount from 0"),
        ('price_per_video = "seven"\n', "price_per_video must be an amount such as 7.00"),
        ('currency = "dollars"\n', "currency must be a three-letter code"),
        ("max_cost = true\n", "max_cost must be an amount"),
        ('confirm = "no"\n', "confirm must be true or false"),
        (
            "max_costs = 3\n",
            "unknown setting max_costs; known: remote_cache, remote_cache_mode, "
            "price_per_video, currency, max_cost, confirm",
        ),
    ],
)
def test_bad_money_settings_are_one_line(tmp_path: Any, text: str, message: str) -> None:
    from shotbuild.config import ConfigError, find_config

    (tmp_path / ".git").mkdir()
    (tmp_path / "shotbuild.toml").write_text(text)
    with pytest.raises(ConfigError) as e:
        find_config(tmp_path)
    assert message in str(e.value)
    assert str(e.value).startswith(str(tmp_path / "shotbuild.toml"))
    assert "\n" not in str(e.value)


# -- what the engine will call around a paying build ----------------------------------


def test_refusals_and_lines_for_the_build() -> None:
    from shotbuild.money import (
        CannotAfford,
        confirmation_question,
        paid_line,
        refuse_over_limit,
        refuse_unaffordable,
        should_confirm,
    )

    with pytest.raises(CannotAfford, match=r"spend \$21\.00 on 3 renders"):
        refuse_over_limit(usd("21"), usd("10"), 3)
    refuse_over_limit(usd("21"), usd("21"), 3)  # exactly the limit is allowed
    with pytest.raises(CannotAfford, match=r"\$10\.00 left"):
        refuse_unaffordable(check_affordable(wallet(10), usd("21")))
    assert refuse_unaffordable(check_affordable(wallet(100), usd("21"))) is None
    said = refuse_unaffordable(check_affordable(wallet(None), usd("21")))
    assert said is not None and "not checked" in said
    assert confirmation_question(3, usd("21")) == "3 renders, $21.00. Render?"
    assert paid_line(0, usd("0")) == "paid this run: 0 renders, $0.00"
    assert paid_line(1, usd("7")) == "paid this run: 1 render, $7.00"
    ask = {"renders": 3, "yes": False, "interactive": True, "confirm": None}
    assert should_confirm(**ask)  # type: ignore[arg-type]
    assert not should_confirm(**{**ask, "yes": True})  # type: ignore[arg-type]
    assert not should_confirm(**{**ask, "interactive": False})  # type: ignore[arg-type]
    assert not should_confirm(**{**ask, "confirm": False})  # type: ignore[arg-type]
    assert not should_confirm(**{**ask, "renders": 0})  # type: ignore[arg-type]
