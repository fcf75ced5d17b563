"""The review server: a Starlette app over the view model.

Every request must come to 127.0.0.1/localhost by name (TrustedHostMiddleware:
no DNS rebinding) and, except the page's own script and style files, carry the
token (?t= for reads, the X-Review-Token header for changes). A change also
needs a same-origin Origin header. Files are reached only through a shot name
and a take number that model.py checks against the spec: no path from a request
ever reaches the file system. A sequence's cut is reached by a sequence name
checked against the spec in the same way."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from shotbuild.errors import ShotbuildError
from shotbuild.review import asset
from shotbuild.review.live import Live
from shotbuild.review.model import (
    ReviewError,
    cut_path,
    media_path,
    reference_image,
)

ASSETS = {"review.js": "text/javascript", "review.css": "text/css", "index.html": "text/html"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it on
    "Cache-Control": "no-store",
}
MAX_BODY = 4096


def create_app(live: Live, token: str) -> Starlette:
    """The review app for `live` (the model kept current), guarded by `token`."""
    view = _Views(live, token)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with live.running():
            yield

    routes = [
        Route("/", view.page),
        Route("/model.js", view.model_js),
        Route("/{name:str}", view.asset),
        Route("/api/model", view.model),
        Route("/api/pick", view.pick, methods=["POST"]),
        Route("/media/{shot:str}/{take:str}", view.media),
        Route("/ref/{shot:str}/{index:int}", view.reference),
        Route("/cut/{sequence:str}/{kind:str}", view.cut),
    ]
    loopback = Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])
    return Starlette(routes=routes, middleware=[loopback], lifespan=lifespan)


class _Views:
    def __init__(self, live: Live, token: str) -> None:
        self.live = live
        self._token = token.encode()

    def refuse(self, request: Request, *, change: bool = False) -> Response | None:
        """403 unless the request has the token: ?t= for a read, the X-Review-Token
        header (which a cross-site form cannot send) and this page's Origin for a change."""
        given = request.headers.get("x-review-token", "")
        if not change:
            given = request.query_params.get("t") or given
        if not hmac.compare_digest(given.encode(), self._token):
            return _error(403, "missing or wrong token: open the URL `shotbuild review` printed")
        return _cross_origin(request) if change else None

    async def page(self, request: Request) -> Response:
        return self.refuse(request) or _asset("index.html")

    async def asset(self, request: Request) -> Response:
        return _asset(request.path_params["name"])

    async def model_js(self, request: Request) -> Response:
        body = b'window.REVIEW = {"mode": "server"};\n'
        return Response(body, media_type="text/javascript", headers=SECURITY_HEADERS)

    async def model(self, request: Request) -> Response:
        if (no := self.refuse(request)) is not None:
            return no
        doc = self.live.current()
        if request.query_params.get("since") == doc["digest"]:
            return JSONResponse({"digest": doc["digest"]}, headers=SECURITY_HEADERS)
        return JSONResponse(doc, headers=SECURITY_HEADERS)

    async def media(self, request: Request) -> Response:
        if (no := self.refuse(request)) is not None:
            return no
        name, take = request.path_params["shot"], request.path_params["take"]
        try:
            spec, cache_dir = self.live.spec(), self.live.project.cache_dir
            path = await asyncio.to_thread(media_path, spec, name, take, cache_dir)
        except ShotbuildError as e:
            return _error(404, str(e))
        return FileResponse(path, media_type="video/mp4", headers=SECURITY_HEADERS)

    async def cut(self, request: Request) -> Response:
        if (no := self.refuse(request)) is not None:
            return no
        name, kind = request.path_params["sequence"], request.path_params["kind"]
        try:
            path = await asyncio.to_thread(cut_path, self.live.spec(), name, kind)
        except ShotbuildError as e:
            return _error(404, str(e))
        return FileResponse(path, media_type="video/mp4", headers=SECURITY_HEADERS)

    async def reference(self, request: Request) -> Response:
        if (no := self.refuse(request)) is not None:
            return no
        name, index = request.path_params["shot"], request.path_params["index"]
        try:
            found = await asyncio.to_thread(reference_image, self.live.spec(), name, index)
        except ShotbuildError as e:
            return _error(404, str(e))
        return Response(found[0], media_type=found[1], headers=SECURITY_HEADERS)

    async def pick(self, request: Request) -> Response:
        if (no := self.refuse(request, change=True)) is not None:
            return no
        try:
            shot, take = _pick_body(await request.body())
            chosen = await asyncio.to_thread(self.live.pick, shot, take)
        except ShotbuildError as e:
            return _error(404 if isinstance(e, ReviewError) else 400, str(e))
        return JSONResponse({"shot": shot, "take": chosen.number}, headers=SECURITY_HEADERS)


def _asset(name: str) -> Response:
    if name not in ASSETS:
        return _error(404, "not found")
    return Response(asset(name), media_type=ASSETS[name], headers=SECURITY_HEADERS)


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


def _cross_origin(request: Request) -> Response | None:
    """A change must come from this page: its Origin is this server's own."""
    origin = request.headers.get("origin")
    own = f"http://{request.headers.get('host', '')}"
    site = request.headers.get("sec-fetch-site", "same-origin")
    if origin != own or site != "same-origin":
        return _error(403, "cross-origin request refused: pick from the review page itself")
    return None


def _pick_body(body: bytes) -> tuple[str, int]:
    """{"shot": <name>, "take": 1-9}, checked field by field; ShotbuildError otherwise."""
    from shotbuild.takes import MAX_TAKE_NUMBER
    from shotbuild.untrusted import load_json, obj, shot_name

    try:
        doc = obj(load_json(body, max_bytes=MAX_BODY), "pick request")
    except UnicodeDecodeError:
        raise ShotbuildError("pick request is not UTF-8") from None
    take = doc.get("take")
    if not isinstance(take, int) or isinstance(take, bool) or not 1 <= take <= MAX_TAKE_NUMBER:
        raise ShotbuildError(f"take must be a number from 1 to {MAX_TAKE_NUMBER}")
    return shot_name(doc.get("shot")), take
