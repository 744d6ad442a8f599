"""The websocket `/ws`: origin check, the server-wide and per-address session caps, then
one `Session` for the connection's life."""

from __future__ import annotations

import json

from fastapi import APIRouter, WebSocket

from errorwave.server.routes.deps import Services
from errorwave.server.security import origin_allowed
from errorwave.server.session import Session

router = APIRouter()


async def _refuse(ws: WebSocket, message: str) -> None:
    await ws.send_text(json.dumps({"type": "error", "code": "limit", "message": message}))
    await ws.close(code=1013)


@router.websocket("/ws")
async def ws_route(ws: WebSocket) -> None:
    svc: Services = ws.app.state.services
    settings = svc.settings
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), settings):
        await ws.close(code=1008)  # before accept: the handshake is refused with 403
        return
    await ws.accept()
    if len(svc.sessions) >= settings.max_sessions:
        await _refuse(ws, "the server is full; try again later")
        return
    # computing sessions per client address (forwarded addresses only from trusted proxies)
    address = ws.client.host if ws.client else "?"
    if svc.per_address.get(address, 0) >= settings.max_sessions_per_address:
        await _refuse(ws, f"at most {settings.max_sessions_per_address} sessions per address; "
                      "close one and try again")
        return
    assert svc.pool is not None
    session = Session(ws, svc.pool, settings, svc.rules)
    svc.sessions[session.sid] = session
    svc.per_address[address] = svc.per_address.get(address, 0) + 1
    try:
        await session.run()
    finally:
        svc.sessions.pop(session.sid, None)
        left = svc.per_address.get(address, 1) - 1
        if left > 0:
            svc.per_address[address] = left
        else:
            svc.per_address.pop(address, None)
