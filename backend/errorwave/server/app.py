"""The FastAPI app: REST routes, the websocket `/ws`, the built frontend at `/`.

`create_app(settings)` wires the pieces: the routers in `routes/`, the Host/header guard
(`security.py`), the compute pool, the configuration checker and the link store, and two
housekeeping tasks (idle sessions, expired links). `serve(host, port)` runs it with
uvicorn (`errorwave serve`). No math here: engines live in the compute pool (pool.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from errorwave.rules import registry
from errorwave.server.checker import Checker
from errorwave.server.classes import Classes
from errorwave.server.limits import Settings
from errorwave.server.links import RateLimiter
from errorwave.server.pool import ComputePool
from errorwave.server.replies import Problem
from errorwave.server.routes import links, pages, report, rest, ws
from errorwave.server.routes.deps import Services
from errorwave.server.security import Guard
from errorwave.server.side import TransportHook
from errorwave.server.stores import open_store

log = logging.getLogger("errorwave.server")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    svc = Services(settings=settings, rules=[cls.describe() for cls in registry.values()],
                   checker=Checker(settings),
                   link_limiter=RateLimiter(settings.links_per_minute),
                   validate_limiter=RateLimiter(settings.validations_per_minute))
    svc.classes = Classes(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import torch

        torch.set_num_threads(1)
        svc.pool = ComputePool(settings)
        await svc.pool.start()
        app.state.pool = svc.pool
        await svc.checker.start()
        # SQLite in the data folder, or PostgreSQL shared by several servers (stores/)
        svc.links = await asyncio.to_thread(open_store, settings)
        svc.classes.records = svc.links
        app.state.links = svc.links
        tasks = [asyncio.create_task(_reap(svc)), asyncio.create_task(_sweep(svc))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for s in list(svc.sessions.values()):
                s.close(1001, "server shutting down")
            await svc.checker.stop()
            await svc.pool.stop()

    app = FastAPI(title="Errorwave", version="1", lifespan=lifespan,
        description="Explore credit assignment: REST for rules, presets, validation and short "
                    "links; the websocket /ws streams sessions (docs/contract.md, docs/server.md).")
    app.state.settings = settings
    app.state.services = svc
    app.state.sessions = svc.sessions

    @app.exception_handler(Problem)
    async def on_problem(request: Request, err: Problem) -> JSONResponse:
        response = err.response()
        if err.status in (429, 503):
            response.headers["Retry-After"] = "1" if err.status == 503 else "60"
        return response

    for router in (rest.router, links.router, report.router, pages.router, ws.router):
        app.include_router(router)
    app.mount("/", pages.Frontend(settings.frontend_dir), name="frontend")
    app.add_middleware(Guard, settings=settings)
    app.add_middleware(TransportHook)  # outermost: sees uvicorn's own send (session aborts)
    return app


async def _reap(svc: Services) -> None:
    """Close sessions without client activity for `idle_timeout_s` (see Session.idle_for)."""
    while True:
        await asyncio.sleep(svc.settings.reap_interval_s)
        now = time.monotonic()
        for s in list(svc.sessions.values()):
            if s.idle_for(now) > svc.settings.idle_timeout_s:
                s.close(1001, "idle")


async def _sweep(svc: Services) -> None:
    """Delete expired short links now and then (a full store also evicts them)."""
    while True:
        if svc.links is not None:
            try:
                gone = await asyncio.to_thread(svc.links.sweep)
                if gone:
                    log.info("%d expired short links deleted", gone)
            except Exception:  # a locked or damaged database must not stop the server
                log.exception("sweeping expired links failed")
        await asyncio.sleep(svc.settings.link_sweep_interval_s)


def uvicorn_kwargs(settings: Settings) -> dict[str, Any]:
    """Transport settings that matter: the sans-I/O websockets implementation (write
    backpressure), no permessage-deflate, a hard frame size cap, keepalive pings, and
    X-Forwarded-* believed only from the proxies in `forwarded_allow_ips` (uvicorn would
    trust them from loopback by default, so anyone could pick a rate-limit bucket)."""
    proxies = settings.forwarded_allow_ips.strip()
    return {"ws": "websockets-sansio", "ws_per_message_deflate": False,
            "ws_max_size": settings.ws_max_bytes, "ws_ping_interval": settings.ws_ping_interval_s,
            "ws_ping_timeout": settings.ws_ping_interval_s, "timeout_graceful_shutdown": 5,
            "proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or "127.0.0.1",
            "server_header": False}


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    settings = Settings.from_env()
    if host not in ("0.0.0.0", "::", "") and host not in settings.allowed_hosts:
        # the address it listens on is a name it answers to
        name = f"[{host}]" if ":" in host else host
        settings = Settings.from_env(allowed_hosts=(*settings.allowed_hosts, name))
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(create_app(settings), host=host, port=port, **uvicorn_kwargs(settings))
