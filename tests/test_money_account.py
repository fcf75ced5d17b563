"""GET /v3/users/me in the client (behind MockTransport) and in the emulator (over
127.0.0.1): the three billing shapes, a wallet that runs dry, refused type names
and callback_url, and the status word a create answers with."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shotbuild.heygen import CreditError, HeyGenClient, InvalidRequest, ServerError
from shotbuild.heygen.models import Account, Subscription, UsageBased, Wallet
from shotbuild.money import Affordable, Money, check_affordable

pytestmark = pytest.mark.anyio

KEY = "sk-money-KEY-7"
BODY: dict[str, Any] = {
    "type": "cinematic_avatar",
    "prompt": "A founder walks through a sunlit office.",
    "avatar_id": ["look_founder"],
    "duration": 4,
}


def mock_client(answer: Any, status: int = 200) -> tuple[HeyGenClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, bytes):
            return httpx.Response(status, content=answer)
        return httpx.Response(status, json=answer)

    client = HeyGenClient(KEY, "https://api.heygen.com", transport=httpx.MockTransport(handler))
    return client, seen


async def test_get_account_reads_a_wallet() -> None:
    data = {
        "username": "ada",
        "email": "ada@example.com",
        "billing_type": "wallet",
        "wallet": {
            "currency": "usd",
            "remaining_balance": 42.5,
            "auto_reload": {"enabled": True, "amount_usd": 50, "threshold_usd": 10},
        },
        "subscription": None,
        "usage_based": None,
        "something_new": {"x": 1},
    }
    client, seen = mock_client({"data": data})
    async with client:
        account = await client.get_account()
    assert seen[0].method == "GET" and seen[0].url.path == "/v3/users/me"
    assert seen[0].headers["x-api-key"] == KEY
    assert account == Account(
        username="ada",
        billing_type="wallet",
        wallet=Wallet("usd", Decimal("42.5"), True),
    )
    assert "ada@example.com" not in repr(account)


async def test_get_account_reads_usage_based_and_subscription() -> None:
    usage = {"usage_based": {"spending_cap_usd": "100.00", "spending_current_usd": 12}}
    client, _ = mock_client({"data": {"billing_type": "usage_based", **usage}})
    async with client:
        account = await client.get_account()
    assert account.billing == "usage_based"
    assert account.usage_based == UsageBased(Decimal("100.00"), Decimal("12"))

    sub = {"plan": "Pro", "credits": {"premium_credits": {"remaining": 300}}}
    client, _ = mock_client({"data": {"subscription": sub}})
    async with client:
        account = await client.get_account()
    assert account.billing == "subscription"
    assert account.subscription == Subscription("pro", Decimal("300"), None)


@pytest.mark.parametrize(
    "wallet",
    [
        None,
        {},
        {"currency": "usd", "remaining_balance": None},
        {"currency": "usd", "remaining_balance": "a lot"},
        {"currency": "usd", "remaining_balance": False},
        {"currency": "usd", "remaining_balance": "1e400"},
        {"currency": "usd", "remaining_balance": 10**20},
        {"currency": ["usd"], "remaining_balance": 100},
        {"currency": "usd" * 100, "remaining_balance": 100},
    ],
)
async def test_a_wallet_that_cannot_be_read_is_unknown(wallet: Any) -> None:
    client, _ = mock_client({"data": {"billing_type": "wallet", "wallet": wallet}})
    async with client:
        account = await client.get_account()
    verdict = check_affordable(account, Money(Decimal(7)))
    assert verdict.state is Affordable.UNKNOWN


@pytest.mark.parametrize("answer", [{"data": None}, {"data": []}, {}, b"<html>502</html>"])
async def test_an_answer_without_data_is_a_one_line_error(answer: Any) -> None:
    client, _ = mock_client(answer)
    async with client:
        with pytest.raises(ServerError) as e:
            await client.get_account()
    assert "GET /v3/users/me" in str(e.value) and "\n" not in str(e.value)
    assert KEY not in str(e.value)


# -- the emulator ---------------------------------------------------------------------


async def account_of(url: str) -> Account:
    async with HeyGenClient(KEY, url) as client:
        return await client.get_account()


async def test_emulator_wallet_spends_7_per_video_then_402(
    emulator: Callable[..., Any],
) -> None:
    emu = emulator(balance=15.0, latency=0.0)
    async with HeyGenClient(KEY, emu.url) as client:
        before = await client.get_account()
        assert before.wallet == Wallet("usd", Decimal("15.0"), False)
        await client.create_video(BODY, idempotency_key="k1")
        await client.create_video(BODY, idempotency_key="k1")  # a replay costs nothing
        await client.create_video(BODY, idempotency_key="k2")
        after = await client.get_account()
        with pytest.raises(CreditError) as e:
            await client.create_video(BODY, idempotency_key="k3")
    assert after.wallet is not None and after.wallet.remaining_balance == Decimal("1.0")
    assert e.value.status == 402 and e.value.code == "insufficient_credit"
    stats = emu.stats()
    assert stats["jobs"] == 2 and stats["spent"] == 14.0


async def test_emulator_usage_based_cap(emulator: Callable[..., Any]) -> None:
    emu = emulator(billing="usage_based", balance=10.0, latency=0.0)
    async with HeyGenClient(KEY, emu.url) as client:
        await client.create_video(BODY, idempotency_key="k1")
        account = await client.get_account()
        with pytest.raises(CreditError):
            await client.create_video(BODY, idempotency_key="k2")
    assert account.usage_based == UsageBased(Decimal("10.0"), Decimal("7.0"))
    verdict = check_affordable(account, Money(Decimal(7)))
    assert verdict.refuse and verdict.line is not None and "$3.00" in verdict.line


async def test_emulator_subscription_and_no_billing(emulator: Callable[..., Any]) -> None:
    sub = await account_of(emulator(billing="subscription").url)
    assert sub.billing == "subscription" and sub.subscription == Subscription(
        "pro", Decimal(600), Decimal(0)
    )
    none = await account_of(emulator(billing="none").url)
    assert none.billing is None
    null = await account_of(emulator(balance=None).url)
    assert null.wallet is not None and null.wallet.remaining_balance is None
    assert check_affordable(null, Money(Decimal(7))).state is Affordable.UNKNOWN


async def test_emulator_refuses_a_type_name_when_told(emulator: Callable[..., Any]) -> None:
    emu = emulator(refuse_types=("avatar_shots",), latency=0.0)
    async with HeyGenClient(KEY, emu.url) as client:
        with pytest.raises(InvalidRequest) as e:
            await client.create_video({**BODY, "type": "avatar_shots"}, idempotency_key="k1")
        created = await client.create_video(BODY, idempotency_key="k1")
    assert e.value.param == "type" and e.value.status == 400
    assert created.status == "pending"
    assert emu.stats()["create_types"] == {"avatar_shots": 1, "cinematic_avatar": 1}


async def test_emulator_refuses_callback_url_when_told(emulator: Callable[..., Any]) -> None:
    emu = emulator(refuse_callback_url=True, create_status="waiting", latency=0.0)
    body = {**BODY, "callback_url": "https://example.com/hook"}
    async with HeyGenClient(KEY, emu.url) as client:
        with pytest.raises(InvalidRequest) as e:
            await client.create_video(body, idempotency_key="k1")
        created = await client.create_video(BODY, idempotency_key="k1")
    assert e.value.param == "callback_url"
    assert created.status == "waiting"


def test_emulator_config_checks_its_account_settings() -> None:
    from shotbuild.emulator import EmulatorConfig
    from shotbuild.errors import UsageError

    for bad in (
        {"billing": "barter"},
        {"balance": -1.0},
        {"price_per_video": -7.0},
        {"refuse_types": ("avatar",)},
        {"create_status": "queued"},
    ):
        with pytest.raises(UsageError):
            EmulatorConfig(**bad)  # type: ignore[arg-type]


def test_emulate_has_the_money_flags() -> None:
    from click.testing import CliRunner

    from shotbuild.commands.emulate import cli

    text = CliRunner().invoke(cli, ["--help"]).output
    for flag in ("--billing", "--balance", "--refuse-type", "--refuse-callback-url"):
        assert flag in text


@pytest.mark.parametrize(
    ("status", "answer"),
    [(404, {"error": {"code": "not_found"}}), (403, {}), (500, b"<html>")],
)
async def test_read_account_gives_none_when_it_cannot_be_read(status: int, answer: Any) -> None:
    from shotbuild.heygen.account import read_account
    from shotbuild.heygen.retry import RetryPolicy

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, bytes):
            return httpx.Response(status, content=answer)
        return httpx.Response(status, json=answer)

    async def no_sleep(_s: float) -> None:
        return None

    transport = httpx.MockTransport(handler)
    async with HeyGenClient(
        KEY,
        "https://api.heygen.com",
        transport=transport,
        sleep=no_sleep,
        retry=RetryPolicy(attempts=2),
    ) as client:
        assert await read_account(client) is None


async def test_read_account_raises_a_rejected_key(emulator: Callable[..., Any]) -> None:
    from shotbuild.heygen import AuthError
    from shotbuild.heygen.account import read_account

    emu = emulator(api_key=KEY)
    async with HeyGenClient("sk-wrong", emu.url) as client:
        with pytest.raises(AuthError):
            await read_account(client)
    async with HeyGenClient(KEY, emu.url) as client:
        account = await read_account(client)
    assert account is not None and account.billing == "wallet"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"seed": 4}, "seed"),
        (
            {"references": [{"type": "url", "url": "https://x.test/a.png", "media": "image"}]},
            "references[0].media",
        ),
    ],
)
async def test_emulator_strict_fields_refuse_what_the_schema_lacks(
    emulator: Callable[..., Any], extra: dict[str, Any], param: str
) -> None:
    emu = emulator(strict_fields=True, latency=0.0)
    ok = {**BODY, "title": "t", "references": [{"type": "asset_id", "asset_id": "ast_1"}]}
    async with HeyGenClient(KEY, emu.url) as client:
        await client.create_video(ok, idempotency_key="k0")
        with pytest.raises(InvalidRequest) as e:
            await client.create_video({**BODY, **extra}, idempotency_key="k1")
    assert e.value.param == param
    lenient = emulator(latency=0.0)  # without the option, unknown fields are ignored
    async with HeyGenClient(KEY, lenient.url) as client:
        await client.create_video({**BODY, **extra}, idempotency_key="k1")
