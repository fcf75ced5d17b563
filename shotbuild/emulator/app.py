"""The emulator's HTTP surface: a Starlette app speaking HeyGen's v3 API (the
endpoints shotbuild uses), plus /_emulator/ routes for links, uploads, faults and
stats. Faults are injected around every /v3 call by `Api.wrap`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from shotbuild import logs
from shotbuild.emulator.config import EmulatorConfig
from shotbuild.emulator.rules import Rejection, check_create
from shotbuild.emulator.state import Asset, Held, Job, World
from shotbuild.emulator.webhooks import Webhooks
from shotbuild.errors import UsageError

if TYPE_CHECKING:
    from shotbuild.preview import Card

log = logs.logger("shotbuild.emulator")  # where the command line said

VideoFactory = Callable[["Card"], bytes]
Endpoint = Callable[[Request], Awaitable[Response]]

MULTIPART_LIMIT = 32 * 1024 * 1024
PAGE_DEFAULT, PAGE_MAX = 20, 50
# The cinematic_avatar schema (heygen-api.md): nothing else may be sent under strict_fields.
BODY_FIELDS = frozenset(
    {
        "type",
        "prompt",
        "avatar_id",
        "references",
        "aspect_ratio",
        "resolution",
        "duration",
        "auto_duration",
        "enhance_prompt",
        "title",
        "callback_url",
    }
)
REFERENCE_KEYS = {
    "url": frozenset({"type", "url"}),
    "asset_id": frozenset({"type", "asset_id"}),
    "base64": frozenset({"type", "media_type", "data"}),
}
STATUSES_MAX = 100  # video IDs per GET /v3/videos/statuses
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_\-:.]{1,255}")
GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
)


class DroppedConnection(Exception):
    """Raised after a partial answer, so the server closes the connection (a fault)."""


class Dropped(Response):
    """Sends the status line, headers and half the body of `inner`, then breaks off."""

    def __init__(self, inner: Response) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.inner.body)
        await send(
            {
                "type": "http.response.start",
                "status": self.inner.status_code,
                "headers": self.inner.raw_headers,
            }
        )
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise DroppedConnection("emulator fault: connection dropped mid-answer")


def error(
    status: int, code: str, message: str, param: str | None = None, **kw: Any
) -> JSONResponse:
    return JSONResponse(Rejection(message, param, code, status).as_json(), status, **kw)


def _default_factory() -> VideoFactory:
    from shotbuild.preview import video_bytes

    factory: VideoFactory = video_bytes
    return factory


class Api:
    """The routes, bound to one World."""

    def __init__(self, world: World, video_factory: VideoFactory | None) -> None:
        self.world = world
        self.factory = video_factory
        self.videos: dict[str, bytes] = {}
        self.render_locks: dict[str, asyncio.Lock] = {}
        self.webhooks = Webhooks(world)

    # -- around every /v3 call ---------------------------------------------------------

    def wrap(self, handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            world = self.world
            world.stats.requests += 1
            denied = self._auth(request)
            if denied is not None:
                return denied
            injected = self._inject()
            if injected is not None:
                return injected
            try:
                response = await handler(request)
            except Rejection as r:
                response = JSONResponse(r.as_json(), r.status)
            if world.faults.drop_next > 0 or world.rng.random() < world.faults.drop_rate:
                world.faults.drop_next = max(0, world.faults.drop_next - 1)
                world.stats.injected["dropped"] += 1
                return Dropped(response)
            return response

        return endpoint

    def keyed(self, handler: Endpoint) -> Endpoint:
        """A control or asset route: the key is required, nothing is injected."""

        async def endpoint(request: Request) -> Response:
            denied = self._auth(request)
            return denied if denied is not None else await handler(request)

        return endpoint

    async def health(self, request: Request) -> Response:
        return JSONResponse({"data": {"status": "ok", "emulator": "shotbuild"}})

    def _auth(self, request: Request) -> Response | None:
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization", "")
        if key is None and bearer.lower().startswith("bearer "):
            key = bearer[7:].strip()
        if not key:
            return error(401, "unauthorized", "Missing API key: send it in the x-api-key header")
        expected = self.world.config.api_key
        if expected is not None and not hmac.compare_digest(key, expected):
            return error(401, "unauthorized", "Invalid API key")
        return None

    def _inject(self) -> Response | None:
        faults, world = self.world.faults, self.world
        if faults.rate_limit_next > 0:
            faults.rate_limit_next -= 1
            world.stats.injected["429"] += 1
            return self._limited(faults.retry_after)
        if world.rng.random() < faults.error_rate:
            world.stats.injected["5xx"] += 1
            status = world.rng.choice((500, 502, 503))
            if status == 502:
                return Response(GATEWAY_PAGE, 502, media_type="text/html")
            return error(status, "internal_error", "Internal server error (emulated)")
        return None

    def _limited(self, seconds: float) -> Response:
        if self.world.faults.retry_after_format == "date":
            when = email.utils.formatdate(self.world.config.wall_clock() + seconds, usegmt=True)
        else:
            when = str(max(0, round(seconds)))
        return error(
            429,
            "rate_limit_exceeded",
            "Too many requests or concurrent jobs; retry later",
            headers={"Retry-After": when},
        )

    # -- videos ------------------------------------------------------------------------

    async def create_video(self, request: Request) -> Response:
        world = self.world
        world.stats.creates_total += 1
        key = request.headers.get("idempotency-key")
        if key is not None:
            if not IDEMPOTENCY_KEY.fullmatch(key):
                raise Rejection("Idempotency-Key must be 1-255 of A-Za-z0-9_-:.", "Idempotency-Key")
            world.stats.creates_per_key[key] += 1
            held = world.held_for(key)
            if held is not None and held.answer is None:
                return error(409, "request_in_progress", "A request with this key is in progress")
            if held is not None and held.answer is not None:
                return JSONResponse(held.answer, headers={"Idempotent-Replayed": "true"})
            world.held[key] = Held(at=world.now())
        try:
            answer = await self._create(request)
        except BaseException:
            if key is not None:
                world.held.pop(key, None)  # an error releases the key: a retry starts anew
            raise
        if isinstance(answer, Response):
            if key is not None:
                world.held.pop(key, None)
            return answer
        if key is not None:
            world.held[key] = Held(at=world.now(), answer=answer)
        return JSONResponse(answer)

    async def _create(self, request: Request) -> dict[str, Any] | Response:
        world = self.world
        raw = await _json_body(request)
        if isinstance(raw, dict):
            world.stats.create_types[str(raw.get("type"))] += 1
        _drift(raw, world.config)
        body = check_create(
            raw,
            asset_kind=self._asset_kind,
            known_look=lambda i: not world.config.strict_ids or world.look(i) is not None,
            known_asset=lambda i: not world.config.strict_ids or i in world.assets,
        )
        if not world.can_pay():
            return error(
                402,
                "insufficient_credit",
                f"Insufficient credit: {world.left():.2f} USD left, a video costs "
                f"{world.config.price_per_video:.2f} USD",
            )
        if len(world.in_progress()) >= world.faults.concurrency:
            world.stats.injected["429"] += 1
            return self._limited(world.retry_after_full())
        if world.faults.create_latency:
            await anyio.sleep(world.faults.create_latency)
        job = world.start_job(body)
        self.webhooks.schedule(job, str(request.base_url))
        status = world.config.create_status
        return {"data": {"video_id": job.id, "status": status, "output_format": "mp4"}}

    def _asset_kind(self, asset_id: str) -> str | None:
        asset = self.world.assets.get(asset_id)
        if asset is None:
            return None
        return "video" if asset.mime_type.startswith("video/") else "image"

    async def get_video(self, request: Request) -> Response:
        world = self.world
        world.stats.status_calls += 1
        job = world.jobs.get(request.path_params["video_id"])
        if job is None:
            return error(404, "video_not_found", "Video not found")
        return JSONResponse({"data": world.status_json(job, str(request.base_url))})

    async def video_statuses(self, request: Request) -> Response:
        """GET /v3/videos/statuses?video_ids=a,b,...: up to 100 jobs in one call, in
        the order asked (repeats once); an unknown ID is an item with `not_found`."""
        world = self.world
        world.stats.batch_status_calls += 1
        if world.config.no_bulk_statuses:  # as if routed to GET /v3/videos/{id}
            return error(404, "video_not_found", "Video not found")
        ids = _video_ids(request.query_params.get("video_ids"))
        base = str(request.base_url)
        return JSONResponse({"data": [world.bulk_status_json(i, base) for i in ids]})

    async def list_videos(self, request: Request) -> Response:
        world = self.world
        jobs = list(world.jobs.values())
        title = request.query_params.get("title")
        if title:
            jobs = [j for j in jobs if title.lower() in str(j.body.get("title", "")).lower()]
        base = str(request.base_url)
        items = [world.status_json(j, base) for j in reversed(jobs)]
        return JSONResponse(_page(items, request))

    async def video_file(self, request: Request) -> Response:
        world = self.world
        world.stats.downloads += 1
        video_id = request.path_params["video_id"]
        q = request.query_params
        if not world.link_valid(request.url.path, q.get("expires", ""), q.get("signature", "")):
            return Response(
                _s3_error("AccessDenied", "Request has expired"), 403, media_type="application/xml"
            )
        job = world.jobs.get(video_id)
        if job is None or job.status(world.now()) != "completed":
            return Response(
                _s3_error("NoSuchKey", "The specified key does not exist."),
                404,
                media_type="application/xml",
            )
        response = Response(await self._render(job), media_type="video/mp4")
        if world.faults.drop_downloads_next > 0:
            world.faults.drop_downloads_next -= 1
            world.stats.injected["dropped_downloads"] += 1
            return Dropped(response)
        return response

    async def _render(self, job: Job) -> bytes:
        """The job's mp4, rendered once (off the event loop) on first download."""
        lock = self.render_locks.setdefault(job.id, asyncio.Lock())
        async with lock:
            if job.id not in self.videos:
                factory = self.factory or _default_factory()
                card = _card(job)
                self.videos[job.id] = await anyio.to_thread.run_sync(factory, card)
                self.world.stats.renders += 1
        return self.videos[job.id]

    # -- the account -----------------------------------------------------------------

    async def get_account(self, request: Request) -> Response:
        return JSONResponse({"data": self.world.account_json()})

    # -- looks -------------------------------------------------------------------------

    async def list_looks(self, request: Request) -> Response:
        q = request.query_params
        looks = self.world.looks
        for name in ("ownership", "avatar_type", "group_id"):
            if q.get(name):
                looks = [look for look in looks if look.get(name) == q[name]]
        if q.get("ownership") not in (None, "", "public", "private"):
            raise Rejection("ownership must be public or private", "ownership")
        return JSONResponse(_page([_public(look) for look in looks], request))

    async def get_look(self, request: Request) -> Response:
        look = self.world.look(request.path_params["look_id"])
        if look is None:
            return error(404, "avatar_not_found", "Avatar look not found")
        return JSONResponse({"data": _public(look)})

    # -- assets ------------------------------------------------------------------------

    async def upload_asset(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise Rejection("send the file as multipart/form-data in the field 'file'", "file")
        async with request.form(max_part_size=MULTIPART_LIMIT) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise Rejection("the multipart field 'file' is required", "file")
            content = await upload.read()
            mime = upload.content_type or "application/octet-stream"
            name = upload.filename or "upload"
        if len(content) > MULTIPART_LIMIT:
            raise Rejection("file is larger than 32 MB: use POST /v3/assets/direct-uploads", "file")
        asset = Asset(self.world.new_id("ast_"), name, mime, len(content), content)
        self.world.assets[asset.asset_id] = asset
        return JSONResponse({"data": asset.as_json(str(request.base_url))})

    async def direct_upload(self, request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise Rejection("the request body must be a JSON object")
        for name in ("filename", "content_type"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise Rejection(f"{name} is required", name)
        size = body.get("size_bytes")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise Rejection("size_bytes must be a positive integer", "size_bytes")
        checksum = body.get("checksum_sha256")
        if checksum is not None and not isinstance(checksum, str):
            raise Rejection("checksum_sha256 must be a hex string", "checksum_sha256")
        asset = Asset(
            self.world.new_id("ast_"),
            body["filename"],
            body["content_type"],
            size,
            checksum_sha256=checksum,
            token=self.world.new_id(),
        )
        self.world.assets[asset.asset_id] = asset
        url = f"{request.base_url}_emulator/uploads/{asset.asset_id}?token={asset.token}"
        return JSONResponse(
            {
                "data": {
                    "asset_id": asset.asset_id,
                    "upload_url": url,
                    "upload_headers": {"Content-Type": asset.mime_type},
                }
            }
        )

    async def put_upload(self, request: Request) -> Response:
        asset = self.world.assets.get(request.path_params["asset_id"])
        if asset is None or not asset.token or request.query_params.get("token") != asset.token:
            return Response(
                _s3_error("AccessDenied", "Bad upload URL"), 403, media_type="application/xml"
            )
        if "x-api-key" in request.headers:
            return Response(_s3_error("InvalidRequest", "Never send the API key to storage"), 400)
        asset.content = await request.body()
        return Response(status_code=200)

    async def complete_upload(self, request: Request) -> Response:
        asset = self.world.assets.get(request.path_params["asset_id"])
        if asset is None:
            return error(404, "asset_not_found", "Asset not found")
        if asset.content is None:
            raise Rejection("nothing was uploaded to upload_url yet", "asset_id")
        if len(asset.content) != asset.size_bytes:
            raise Rejection(
                f"uploaded {len(asset.content)} bytes, announced {asset.size_bytes}", "size_bytes"
            )
        digest = hashlib.sha256(asset.content).hexdigest()
        if asset.checksum_sha256 and asset.checksum_sha256.lower() != digest:
            raise Rejection("the uploaded bytes do not match checksum_sha256", "checksum_sha256")
        return JSONResponse({"data": asset.as_json(str(request.base_url))})

    async def asset_file(self, request: Request) -> Response:
        asset = self.world.assets.get(request.path_params["asset_id"])
        if asset is None or asset.content is None:
            return Response(
                _s3_error("NoSuchKey", "No such asset"), 404, media_type="application/xml"
            )
        return Response(asset.content, media_type=asset.mime_type)

    # -- webhooks ------------------------------------------------------------------------

    async def create_endpoint(self, request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise Rejection("the request body must be a JSON object")
        url, events = body.get("url"), body.get("events")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Rejection("url must be an http(s) URL", "url")
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) for e in events)
        ):
            raise Rejection("events must be a non-empty array of event names", "events")
        endpoint = {
            "endpoint_id": self.world.new_id("ep_"),
            "url": url,
            "events": events,
            "status": "enabled",
            "created_at": email.utils.formatdate(self.world.config.wall_clock(), usegmt=True),
            "secret": "whsec_" + self.world.new_id() + self.world.new_id(),
        }
        self.world.endpoints[str(endpoint["endpoint_id"])] = endpoint
        return JSONResponse({"data": endpoint})

    # -- control -------------------------------------------------------------------------

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            if not isinstance(body, dict):
                return error(400, "invalid_parameter", "send a JSON object of faults")
            try:
                self.world.faults.update(body)
            except UsageError as e:
                return error(400, "invalid_parameter", str(e))
        return JSONResponse({"data": self.world.faults.as_json()})

    async def stats(self, request: Request) -> Response:
        return JSONResponse({"data": self.world.stats.as_json()})


def _drift(body: Any, config: EmulatorConfig) -> None:
    """HeyGen's drift, as configured: a refused type name, a refused callback_url."""
    if not isinstance(body, dict):
        return
    if isinstance(body.get("type"), str) and body["type"] in config.refuse_types:
        accepted = [
            t
            for t in ("avatar", "image", "cinematic_avatar", "studio", "avatar_shots")
            if t not in config.refuse_types
        ]
        raise Rejection(
            f"type {body['type']!r} is not supported; use one of {', '.join(accepted)}", "type"
        )
    if config.refuse_callback_url and "callback_url" in body:
        raise Rejection("callback_url is not a field of this video type", "callback_url")
    if config.strict_fields:
        _schema_fields(body)


def _schema_fields(body: dict[str, Any]) -> None:
    """Refuse any field the cinematic_avatar schema does not have (callback_url is
    refused separately), in the body and in each reference."""
    for name in body:
        if name not in BODY_FIELDS:
            raise Rejection(f"{name} is not a field of this video type", name)
    refs = body.get("references")
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        if not isinstance(ref, dict):
            continue  # check_create answers a malformed reference
        allowed = REFERENCE_KEYS.get(str(ref.get("type")), frozenset(ref))
        extra = sorted(set(ref) - allowed)
        if extra:
            raise Rejection(
                f"{extra[0]} is not a field of a reference", f"references[{i}].{extra[0]}"
            )


def _card(job: Job) -> Card:
    from shotbuild.preview import Card

    body = job.body
    title = body.get("title")
    return Card(  # each job its own video, as HeyGen's: two takes of one shot differ
        name=f"{title} - {job.id}" if title else job.id,
        prompt=body["prompt"],
        looks=tuple(body["avatar_id"]),
        aspect_ratio=str(body.get("aspect_ratio", "16:9")),
        resolution=str(body.get("resolution", "720p")),
        duration=job.duration,
        mark="EMULATOR",
    )


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        raise Rejection("the request body is not valid JSON") from None


def _video_ids(raw: str | None) -> list[str]:
    ids = list(dict.fromkeys(x.strip() for x in (raw or "").split(",") if x.strip()))
    if not ids:
        raise Rejection("video_ids is required: up to 100 video IDs, comma-separated", "video_ids")
    if len(ids) > STATUSES_MAX:
        raise Rejection(f"video_ids takes at most {STATUSES_MAX} IDs, got {len(ids)}", "video_ids")
    return ids


def _page(items: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    """One page of `items` by `limit` and `token` (an opaque offset)."""
    q = request.query_params
    try:
        limit = int(q.get("limit", PAGE_DEFAULT))
    except ValueError:
        raise Rejection(f"limit must be an integer 1-{PAGE_MAX}", "limit") from None
    if not 1 <= limit <= PAGE_MAX:
        raise Rejection(f"limit must be 1-{PAGE_MAX}", "limit")
    start = 0
    if q.get("token"):
        try:
            start = int(base64.urlsafe_b64decode(q["token"].encode()).decode().removeprefix("o:"))
        except ValueError:
            raise Rejection("token is not a token from a previous page", "token") from None
    more = start + limit < len(items)
    token = base64.urlsafe_b64encode(f"o:{start + limit}".encode()).decode() if more else None
    return {"data": items[start : start + limit], "has_more": more, "next_token": token}


def _public(look: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in look.items() if k != "ownership"}


def _s3_error(code: str, message: str) -> bytes:
    """How a storage service (S3, GCS) answers: XML, not HeyGen's JSON."""
    xml = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return xml.encode()


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return error(405, "method_not_allowed", "Method not allowed")
    return error(status, "not_found", f"No route {request.method} {request.url.path}")


def create_app(
    config: EmulatorConfig | None = None, *, video_factory: VideoFactory | None = None
) -> Starlette:
    """The emulator as an ASGI app; `app.state.world` holds its state and counts."""
    world = World(config or EmulatorConfig())
    api = Api(world, video_factory)
    w = api.wrap
    routes = [
        Route("/v3/videos", w(api.create_video), methods=["POST"]),
        Route("/v3/videos", w(api.list_videos), methods=["GET"]),
        Route("/v3/videos/statuses", w(api.video_statuses), methods=["GET"]),  # before {video_id}
        Route("/v3/videos/{video_id}", w(api.get_video), methods=["GET"]),
        Route("/v3/users/me", w(api.get_account), methods=["GET"]),
        Route("/v3/avatars/looks", w(api.list_looks), methods=["GET"]),
        Route("/v3/avatars/looks/{look_id}", w(api.get_look), methods=["GET"]),
        Route("/v3/assets", w(api.upload_asset), methods=["POST"]),
        Route("/v3/assets/direct-uploads", w(api.direct_upload), methods=["POST"]),
        Route("/v3/assets/{asset_id}/complete", w(api.complete_upload), methods=["POST"]),
        Route("/v3/webhooks/endpoints", w(api.create_endpoint), methods=["POST"]),
        Route("/_emulator/videos/{video_id}.mp4", api.video_file, methods=["GET"]),
        Route("/_emulator/uploads/{asset_id}", api.put_upload, methods=["PUT"]),
        # presigned links (videos, uploads) carry a signature or token, never the key;
        # uploaded assets and the control routes take the key, like /v3
        Route("/_emulator/assets/{asset_id}", api.keyed(api.asset_file), methods=["GET"]),
        Route("/_emulator/faults", api.keyed(api.faults), methods=["GET", "POST"]),
        Route("/_emulator/stats", api.keyed(api.stats), methods=["GET"]),
        Route("/_emulator/health", api.health, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await api.webhooks.shutdown()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.world = world
    app.state.api = api
    return app
