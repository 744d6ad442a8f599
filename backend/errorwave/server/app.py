"""The FastAPI app: REST routes, the websocket `/ws`, the built frontend at `/`.

`create_app(settings)` builds an app; `serve(host, port)` runs it with uvicorn
(`errorwave serve`). No math here: engines live in the compute pool (pool.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from errorwave.presets import get_preset, list_presets
from errorwave.rules import registry
from errorwave.server.limits import Settings
from errorwave.server.links import LINK_ID, LinkStore, RateLimiter, StoreFull
from errorwave.server.pool import ComputePool
from errorwave.server.session import Session
from errorwave.validation import ConfigInvalid, parse_config

log = logging.getLogger("errorwave.server")
LINK_RE = re.compile(LINK_ID)
NOT_BUILT = ("Errorwave: the frontend is not built.\n\nBuild it with `make frontend` (or "
             "`cd frontend && npm ci && npm run build`), then reload.\nThe API is up: see /docs.\n")
CONFIG_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "A v1 configuration (shared/schema/config.schema.json)"}}}}
LINK_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["config"], "additionalProperties": False,
    "properties": {"config": {"type": "object"}, "view": {"type": "object"}}}}}}


def problem(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "code": code, "message": message, **extra}, status_code=status)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(body: bytes) -> Any:
    return json.loads(body, parse_constant=_reject_constant)


def origin_allowed(ws: WebSocket, settings: Settings) -> bool:
    """No Origin (not a browser), the server's own origin, or one on the allow-list."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if "*" in settings.origins or origin in settings.origins:
        return True
    host = ws.headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


class Frontend:
    """The built frontend (StaticFiles) when `frontend/dist` exists; a short text otherwise."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.static = StaticFiles(directory=self.folder, html=True, check_dir=False)

    def index(self) -> Path | None:
        path = self.folder / "index.html"
        return path if path.is_file() else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if self.index() is None:
            status = 200 if scope["path"] in ("", "/") else 404
            await PlainTextResponse(NOT_BUILT, status_code=status)(scope, receive, send)
            return
        await self.static(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    rules = [cls.describe() for cls in registry.values()]
    frontend = Frontend(settings.frontend_dir)
    sessions: dict[str, Session] = {}
    link_limiter = RateLimiter(settings.links_per_minute)
    limits = settings.engine_limits()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import torch

        torch.set_num_threads(1)
        pool = ComputePool(settings)
        await pool.start()
        app.state.pool = pool
        app.state.links = LinkStore(settings.data_dir, settings.max_links,
                                    settings.max_link_store_bytes)
        reaper = asyncio.create_task(_reap(sessions, settings))
        try:
            yield
        finally:
            reaper.cancel()
            for s in list(sessions.values()):
                s.close(1001, "server shutting down")
            await pool.stop()

    app = FastAPI(title="Errorwave", version="1", lifespan=lifespan,
        description="Explore credit assignment: REST for rules, presets, validation and short "
                    "links; the websocket /ws streams sessions (docs/contract.md, docs/server.md).")
    app.state.settings = settings
    app.state.sessions = sessions

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.get("/healthz", tags=["meta"])
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "sessions": len(sessions), "max_sessions": settings.max_sessions,
                "workers": len(app.state.pool.workers), "workers_ready": app.state.pool.ready}

    @app.get("/api/rules", tags=["rules"])
    async def rules_route() -> list[dict[str, Any]]:
        """Each rule: parameters (type, default, range, meaning) and the graphs it supports."""
        return rules

    @app.get("/api/presets", tags=["presets"])
    async def presets_route() -> list[dict[str, Any]]:
        return list_presets()

    @app.get("/api/presets/{preset_id}", tags=["presets"])
    async def preset_route(preset_id: str) -> Any:
        found = get_preset(preset_id)
        if found is None:
            return problem(404, "unknown_preset", f"no preset {preset_id[:64]!r}")
        return found

    @app.post("/api/validate", tags=["configs"], openapi_extra={"requestBody": CONFIG_BODY})
    async def validate_route(request: Request) -> Any:
        """`{"ok": true, ...}` or 422 with issues naming node and field."""
        body = await _body(request, settings.max_message_bytes)
        if isinstance(body, Response):
            return body
        try:
            config, structure = await asyncio.to_thread(parse_config, body, limits)
        except ConfigInvalid as err:
            return JSONResponse({"ok": False, "issues": [i.as_dict() for i in err.issues]},
                                status_code=422)
        return {"ok": True, "nodes": len(structure.order), "rule": config.rule.name,
                "output": structure.output}

    @app.post("/api/links", tags=["links"], status_code=201,
              openapi_extra={"requestBody": LINK_BODY})
    async def create_link(request: Request) -> Any:
        """Store `{config, view?}`; answer `{id, url}`. The same content gives the same id."""
        client = request.client.host if request.client else "?"
        if not link_limiter.allow(client):
            return problem(429, "limit", "too many links created; try again in a minute")
        body = await _body(request, settings.link_max_bytes)
        if isinstance(body, Response):
            return body
        try:
            doc = read_json(body)
        except ValueError as err:
            return problem(400, "bad_json", f"not valid JSON: {err}")
        if not isinstance(doc, dict) or "config" not in doc or set(doc) - {"config", "view"}:
            return problem(400, "bad_message", "the body is {\"config\": {...}, \"view\": {...}}")
        if not isinstance(doc.get("view", {}), dict):
            return problem(400, "bad_message", "'view' must be an object")
        try:
            await asyncio.to_thread(parse_config, doc["config"], limits)
        except ConfigInvalid as err:
            return JSONResponse({"ok": False, "code": "invalid_config",
                                 "issues": [i.as_dict() for i in err.issues]}, status_code=422)
        try:
            link_id, _ = await asyncio.to_thread(app.state.links.put, doc)
        except StoreFull as err:
            return problem(507, "limit", str(err))
        return JSONResponse({"id": link_id, "url": f"/s/{link_id}"}, status_code=201)

    @app.get("/api/links/{link_id}", tags=["links"])
    async def get_link(link_id: str) -> Any:
        if not LINK_RE.match(link_id):
            return problem(404, "unknown_link", "no such link")
        doc = await asyncio.to_thread(app.state.links.get, link_id)
        if doc is None:
            return problem(404, "unknown_link", "no such link")
        try:
            await asyncio.to_thread(parse_config, doc["config"], limits)
            issues: list[dict[str, Any]] = []
        except ConfigInvalid as err:  # stored under other limits or an older version
            issues = [i.as_dict() for i in err.issues]
        return {"id": link_id, "config": doc["config"], "view": doc.get("view", {}),
                "created": doc["created"], "issues": issues}

    @app.get("/s/{link_id}", tags=["links"], response_class=Response)
    async def open_link(link_id: str) -> Response:
        """The app; it fetches GET /api/links/{id} itself and shows any error as text."""
        index = frontend.index()
        status = 200 if LINK_RE.match(link_id) else 404
        if index is None:
            return PlainTextResponse(NOT_BUILT, status_code=status)
        return FileResponse(index, status_code=status, headers={"Cache-Control": "no-cache"})

    @app.websocket("/ws")
    async def ws_route(ws: WebSocket) -> None:
        if not origin_allowed(ws, settings):
            await ws.close(code=1008)  # before accept: the handshake is refused with 403
            return
        await ws.accept()
        if len(sessions) >= settings.max_sessions:
            await ws.send_text(json.dumps({"type": "error", "code": "limit",
                                           "message": "the server is full; try again later"}))
            await ws.close(code=1013)
            return
        session = Session(ws, app.state.pool, settings, rules)
        sessions[session.sid] = session
        try:
            await session.run()
        finally:
            sessions.pop(session.sid, None)

    app.mount("/", frontend, name="frontend")
    return app


async def _body(request: Request, cap: int) -> bytes | Response:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > cap:
        return problem(413, "too_large", f"the body exceeds the limit of {cap} bytes")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            return problem(413, "too_large", f"the body exceeds the limit of {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _reap(sessions: dict[str, Session], settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.reap_interval_s)
        now = time.monotonic()
        for s in list(sessions.values()):
            if s.idle_for(now) > settings.idle_timeout_s:
                s.close(1001, "idle")


def uvicorn_kwargs(settings: Settings) -> dict[str, Any]:
    """Transport settings that matter (DESIGN §9): the sans-I/O websockets implementation
    (write backpressure), no permessage-deflate, a hard frame size cap, keepalive pings."""
    return {"ws": "websockets-sansio", "ws_per_message_deflate": False,
            "ws_max_size": settings.ws_max_bytes, "ws_ping_interval": settings.ws_ping_interval_s,
            "ws_ping_timeout": settings.ws_ping_interval_s, "timeout_graceful_shutdown": 5}


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(create_app(settings), host=host, port=port, **uvicorn_kwargs(settings))
