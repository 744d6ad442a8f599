"""The browser app: the built frontend at `/`, `/s/{id}` for short links, `/c/{code}` to
follow a class."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from errorwave.server.classes import normalize
from errorwave.server.links import is_link_id
from errorwave.server.routes.deps import Services, services

NOT_BUILT = ("Errorwave: the frontend is not built.\n\nBuild it with `make frontend` (or "
             "`cd frontend && npm ci && npm run build`), then reload.\nThe API is up: see /docs.\n")
router = APIRouter(tags=["links"])


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


@router.get("/s/{link_id}", response_class=Response)
async def open_link(link_id: str, svc: Annotated[Services, Depends(services)]) -> Response:
    """The app; it fetches GET /api/links/{id} itself and shows any error as text."""
    index = Frontend(svc.settings.frontend_dir).index()
    status = 200 if is_link_id(link_id) else 404
    if index is None:
        return PlainTextResponse(NOT_BUILT, status_code=status)
    return FileResponse(index, status_code=status, headers={"Cache-Control": "no-cache"})


@router.get("/c/{code}", response_class=Response, tags=["classes"])
async def open_class(code: str, svc: Annotated[Services, Depends(services)]) -> Response:
    """The app, following class `code` (it connects to `/ws?class={code}` itself and shows
    an unknown or ended class as text)."""
    index = Frontend(svc.settings.frontend_dir).index()
    status = 200 if normalize(code) is not None else 404
    if index is None:
        return PlainTextResponse(NOT_BUILT, status_code=status)
    return FileResponse(index, status_code=status, headers={"Cache-Control": "no-cache"})
