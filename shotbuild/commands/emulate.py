"""`shotbuild emulate`: serve a local HeyGen-compatible API until Ctrl-C."""

from __future__ import annotations

import click

from shotbuild.emulator import EmulatorConfig, require_extra
from shotbuild.errors import ShotbuildError

DEFAULT_PORT = 8765  # fixed, so HEYGEN_BASE_URL stays the same between runs
rate = click.FloatRange(0.0, 1.0)
seconds = click.FloatRange(min=0.0)


@click.command("emulate")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--latency",
    type=seconds,
    default=2.0,
    show_default=True,
    help="Seconds from create to a finished video.",
)
@click.option(
    "--failure-rate",
    type=rate,
    default=0.0,
    show_default=True,
    help="Share of videos that end failed (with failure_code/failure_message).",
)
@click.option(
    "--error-rate",
    type=rate,
    default=0.0,
    show_default=True,
    help="Share of API requests answered 500/502/503.",
)
@click.option(
    "--drop-rate",
    type=rate,
    default=0.0,
    show_default=True,
    help="Share of API answers cut off mid-body (a dropped connection).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Videos in progress at once; one more gets 429 with Retry-After.",
)
@click.option(
    "--link-ttl",
    type=seconds,
    default=7 * 24 * 3600.0,
    show_default=True,
    help="Seconds a video_url stays valid.",
)
@click.option(
    "--api-key",
    envvar="SHOTBUILD_EMULATOR_API_KEY",
    help="The only key accepted (default: any non-empty key).",
)
@click.option(
    "--strict-ids",
    is_flag=True,
    help="Reject look and asset IDs the emulator does not know (400 avatar_not_found).",
)
@click.option(
    "--billing",
    type=click.Choice(["wallet", "usage_based", "subscription", "none"]),
    default="wallet",
    show_default=True,
    help="How the account pays, as GET /v3/users/me shows it.",
)
@click.option(
    "--balance",
    type=click.FloatRange(min=0.0),
    default=1_000_000.0,
    show_default=True,
    help="USD in the wallet (or the usage-based cap); a create it cannot pay gets 402.",
)
@click.option(
    "--price-per-video",
    type=click.FloatRange(min=0.0),
    default=7.0,
    show_default=True,
    help="USD each video started takes from the balance.",
)
@click.option(
    "--refuse-type",
    "refuse_types",
    type=click.Choice(["avatar_shots", "cinematic_avatar"]),
    multiple=True,
    help="Answer a create of this type 400 (param type), as if HeyGen had dropped it.",
)
@click.option(
    "--refuse-callback-url",
    is_flag=True,
    help="Answer a create carrying callback_url 400 (param callback_url).",
)
@click.option(
    "--strict-fields",
    is_flag=True,
    help="Answer 400 to any field beyond the cinematic_avatar schema (e.g. a reference's media).",
)
@click.option(
    "--create-status",
    type=click.Choice(["pending", "waiting"]),
    default="pending",
    show_default=True,
    help="The status word a create answers with.",
)
@click.option("--seed", type=int, help="Seed for failures, faults and IDs (reproducible runs).")
@click.option("-v", "--verbose", is_flag=True, help="Log each request on stderr.")
def cli(
    port: int,
    host: str,
    latency: float,
    failure_rate: float,
    error_rate: float,
    drop_rate: float,
    concurrency: int,
    link_ttl: float,
    api_key: str | None,
    strict_ids: bool,
    billing: str,
    balance: float,
    price_per_video: float,
    refuse_types: tuple[str, ...],
    refuse_callback_url: bool,
    strict_fields: bool,
    create_status: str,
    seed: int | None,
    verbose: bool,
) -> int:
    """Serve a local HeyGen-compatible API (create, status, account, looks, assets, webhooks)
    for CI dry runs: point HEYGEN_BASE_URL at the URL it prints. Runs until Ctrl-C
    (exit 130)."""
    require_extra("shotbuild emulate")
    from shotbuild.emulator.app import create_app
    from shotbuild.emulator.server import base_url, bind, make_server

    config = EmulatorConfig(
        api_key=api_key,
        latency=latency,
        failure_rate=failure_rate,
        error_rate=error_rate,
        concurrency=concurrency,
        link_ttl=link_ttl,
        seed=seed,
        strict_ids=strict_ids,
        billing=billing,
        balance=balance,
        price_per_video=price_per_video,
        refuse_types=refuse_types,
        refuse_callback_url=refuse_callback_url,
        strict_fields=strict_fields,
        create_status=create_status,
    )
    config.faults.drop_rate = drop_rate
    try:
        sock = bind(host, port)
    except OSError as e:
        raise ShotbuildError(
            f"cannot listen on {host}:{port} ({e.strerror}): another emulator may be running"
            " there; choose another --port (--port 0 picks a free one) or --host"
        ) from e
    url = base_url(sock)
    click.echo(url)
    if not is_loopback(host):
        anyone = "" if api_key else "; it accepts any key: give --api-key"
        click.echo(
            f"shotbuild emulate: warning: listening on {host}, reachable from other"
            f" machines, over plain http{anyone}",
            err=True,
        )
    click.echo(
        f"shotbuild emulate: HeyGen API emulator at {url}; for a dry run: "
        f"HEYGEN_BASE_URL={url} HEYGEN_API_KEY=<any> shotbuild build ... (Ctrl-C stops)",
        err=True,
    )
    with sock:
        make_server(create_app(config), verbose=verbose).run(sockets=[sock])
    return 0


def is_loopback(host: str) -> bool:
    """Whether `host` is an address of this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
