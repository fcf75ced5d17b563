"""`shotbuild doctor`'s checks, as values: the key, the origin, the server behind it,
the account and its balance, the price table, the type name, the remote cache.

Each check is one line, ok, warn or fail; nothing here creates a paid job (the
type name is what an earlier build learnt, not a probe) and nothing prints."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from shotbuild.errors import ShotbuildError
from shotbuild.heygen.origin import DEFAULT_BASE_URL, origin_of
from shotbuild.settings import heygen_access

if TYPE_CHECKING:
    import httpx

    from shotbuild.heygen.client import HeyGenClient
    from shotbuild.heygen.models import Account
    from shotbuild.money import PriceTable

Status = Literal["ok", "warn", "fail"]
FORMAT_VERSION = 1
PROBE = b"shotbuild doctor: a probe of whether this remote cache takes writes\n"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def line(self, width: int = 12) -> str:
        return f"{self.status:<4}  {self.name:<{width}}  {self.detail}"

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def failed(checks: list[Check]) -> bool:
    return any(c.status == "fail" for c in checks)


def report_json(checks: list[Check]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "ok": not failed(checks),
        "checks": [c.as_json() for c in checks],
    }


@dataclass(frozen=True)
class Setup:
    """Where doctor looks: the environment, the folder the config is found from, the
    local cache folder (None: the default) and an HTTP transport for tests."""

    environ: Mapping[str, str]
    folder: Path
    cache_dir: Path | None = None
    transport: httpx.AsyncBaseTransport | None = None

    @classmethod
    def here(cls, folder: Path | None = None) -> Setup:
        return cls(os.environ, (folder or Path.cwd()).resolve())


async def run(setup: Setup) -> list[Check]:
    """Every check, in the order shown."""
    checks: list[Check] = []
    table = _prices(setup, checks)
    origin = _origin(setup, checks)
    key = heygen_access(setup.environ).api_key or ""
    if origin is not None:
        checks.append(await _server(setup, origin))
        checks.extend(await _account(setup, key, origin, table))
        checks.append(_type_name(setup, origin))
    checks.append(_remote_cache(setup))
    return checks


# -- the checks ---------------------------------------------------------------------


def _prices(setup: Setup, checks: list[Check]) -> PriceTable | None:
    from shotbuild.config import find_config

    try:
        table = find_config(setup.folder).money.table()
    except ShotbuildError as e:
        checks.append(Check("prices", "fail", str(e)))
        return None
    entries = "; ".join(table.lines())
    checks.append(Check("prices", "ok", f"{entries} (from {table.source})"))
    return table


def _origin(setup: Setup, checks: list[Check]) -> str | None:
    base = heygen_access(setup.environ).base_url
    try:
        origin = origin_of(base)
    except ShotbuildError as e:
        checks.append(Check("origin", "fail", str(e)))
        return None
    where = "HEYGEN_BASE_URL" if base != DEFAULT_BASE_URL else "default"
    checks.append(Check("origin", "ok", f"{origin} ({where})"))
    return origin


async def _server(setup: Setup, origin: str) -> Check:
    """The real API by its origin, the emulator by its control route (no key sent)."""
    if origin == origin_of(DEFAULT_BASE_URL):
        return Check("server", "ok", "the real HeyGen API: builds pay for renders")
    if await _is_emulator(setup, origin):
        return Check("server", "ok", "the shotbuild emulator: renders are placeholders, free")
    return Check(
        "server",
        "warn",
        f"{origin} is neither api.heygen.com nor a shotbuild emulator (a proxy?); "
        "check HEYGEN_BASE_URL",
    )


async def _is_emulator(setup: Setup, origin: str) -> bool:
    import httpx

    from shotbuild import untrusted

    try:
        async with httpx.AsyncClient(transport=setup.transport, timeout=5.0) as http:
            response = await http.get(f"{origin}/_emulator/health")  # the one keyless route
        doc = untrusted.load_json(response.content, max_bytes=1 << 20)
    except (httpx.HTTPError, untrusted.BadValue, ValueError):
        return False
    data = doc.get("data") if isinstance(doc, dict) else None
    return (
        response.status_code == 200
        and isinstance(data, dict)
        and data.get("emulator") == "shotbuild"
    )


async def _account(setup: Setup, key: str, origin: str, table: PriceTable | None) -> list[Check]:
    from shotbuild.heygen import errors

    if not key:
        return [Check("key", "fail", str(errors.MissingApiKey()))]
    try:
        account = await _fetch_account(setup, key)
    except errors.AuthError as e:
        return [Check("key", "fail", str(e))]
    except ShotbuildError as e:
        return [Check("key", "warn", "HEYGEN_API_KEY is set"), Check("account", "fail", str(e))]
    return [
        Check("key", "ok", f"HEYGEN_API_KEY is set and {origin} accepts it"),
        _account_check(account),
        _balance_check(account, table),
    ]


async def _fetch_account(setup: Setup, key: str) -> Account:
    from shotbuild.heygen.client import HeyGenClient
    from shotbuild.heygen.retry import RetryPolicy

    access = heygen_access(setup.environ)
    client: HeyGenClient = HeyGenClient(
        key,
        access.base_url,
        transport=setup.transport,
        retry=RetryPolicy(attempts=2),
        allow_insecure_http=access.allow_insecure_http,
    )
    async with client:
        return await client.get_account()


def _account_check(account: Account) -> Check:
    who = f"account {account.username!r}" if account.username else "an account with no username"
    if account.billing is None:
        return Check(
            "account",
            "warn",
            f"{who}; GET /v3/users/me does not say how it pays (billing_type and its "
            "object are missing or disagree): the balance cannot be checked",
        )
    return Check("account", "ok", f"{who}, billed by {account.billing.replace('_', '-')}")


def _balance_check(account: Account, table: PriceTable | None) -> Check:
    from shotbuild.money import Affordable, check_affordable, default_table

    price = (table or default_table()).cost("cinematic_avatar")
    assert price is not None  # both tables price the Avatar Shots types
    verdict = check_affordable(account, price)
    if verdict.state is Affordable.ENOUGH and verdict.available is not None:
        videos = int(verdict.available.amount // price.amount) if price.amount else None
        many = f" ({videos:,} videos at {price})" if videos is not None else ""
        return Check("balance", "ok", f"{verdict.available} available{many}")
    if verdict.state is Affordable.SHORT:
        return Check("balance", "warn", f"not enough for one video: {verdict.line}")
    return Check("balance", "warn", verdict.line or "unknown")


def _type_name(setup: Setup, origin: str) -> Check:
    """What an earlier build learnt: doctor never pays for a probe."""
    from shotbuild.heygen.drift import SENT_BY_DEFAULT, other_name, remembered_type_name
    from shotbuild.store.cache import Cache

    try:
        with Cache(setup.cache_dir) as cache:
            name = remembered_type_name(cache, origin)
    except (OSError, ShotbuildError) as e:
        return Check("type name", "warn", f"the local cache cannot be read ({e})")
    if name is not None:
        return Check("type name", "ok", f"{origin} accepted {name!r} on the last build")
    return Check(
        "type name",
        "ok",
        f"not known yet (learnt by the first build, not probed: a probe is a paid job); "
        f"builds send {SENT_BY_DEFAULT!r} and fall back to {other_name(SENT_BY_DEFAULT)!r}",
    )


def _remote_cache(setup: Setup) -> Check:
    from shotbuild.settings import Settings

    try:
        cache = Settings.resolve(setup.folder, environ=setup.environ).remote.open()
    except ShotbuildError as e:
        return Check("remote cache", "fail", str(e))
    if cache is None:
        return Check("remote cache", "ok", "none configured (builds share results via the lock)")
    return _probe_remote(cache.url, cache.mode, cache.get_result, cache.put_blob)


def _probe_remote(
    url: str,
    mode: str,
    get_result: Callable[[str], object],
    put_blob: Callable[[str, Path], bool],
) -> Check:
    import hashlib
    import tempfile

    try:
        get_result("0" * 64)  # a key no render has: a miss proves reading works
    except ShotbuildError as e:
        return Check("remote cache", "fail", f"{url}: not reachable: {e}")
    if mode != "readwrite":
        return Check("remote cache", "ok", f"{url}: reachable (read mode: not written)")
    sha = hashlib.sha256(PROBE).hexdigest()
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe"
        probe.write_bytes(PROBE)
        try:
            wrote = put_blob(sha, probe)  # content-addressed: the same tiny blob every time
        except ShotbuildError as e:
            return Check("remote cache", "fail", f"{url}: reachable, but not writable: {e}")
    if not wrote:
        return Check(
            "remote cache",
            "ok",
            f"{url}: reachable; a write was not tried (doctor's probe blob is already there)",
        )
    return Check(
        "remote cache",
        "ok",
        f"{url}: reachable and writable (whether it honours conditional writes is "
        "not reported by this version of the remote cache)",
    )
