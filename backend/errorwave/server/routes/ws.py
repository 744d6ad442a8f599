"""The websocket `/ws`: origin check, the server-wide and per-address session caps, then
one `Session` for the connection's life. `/ws?class={code}` follows a class (classes.py):
followers compute nothing, so they count toward `max_followers`, not the session caps."""

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
    # computing sessions per client address (forwarded addresses only from trusted proxies)
    address = ws.client.host if ws.client else "?"

    def quota(take: bool) -> str | None:
        if not take:
            left = svc.per_address.get(address, 1) - 1
            if left > 0:
                svc.per_address[address] = left
            else:
                svc.per_address.pop(address, None)
            return None
        if sum(svc.per_address.values()) >= settings.max_sessions:
            return "the server is full; try again later"
        if svc.per_address.get(address, 0) >= settings.max_sessions_per_address:
            return (f"at most {settings.max_sessions_per_address} sessions per address; "
                    "close one and try again")
        svc.per_address[address] = svc.per_address.get(address, 0) + 1
        return None

    follow = ws.query_params.get("class")
    refusal = quota(True) if follow is None else None  # a class caps its followers
    if refusal is not None:
        await _refuse(ws, refusal)
        return
    assert svc.pool is not None
    session = Session(ws, svc.pool, settings, svc.rules, classes=svc.classes, address=address,
                      quota=quota, follow=follow)
    svc.sessions[session.sid] = session
    try:
        await session.run()
    finally:
        svc.sessions.pop(session.sid, None)
        session.release()
