"""Short links: create (`POST /api/links`) and read (`GET /api/links/{id}`).

Creating a link is the only REST write, so it is the one a foreign page must not be
able to trigger: the body must be `application/json` (a cross-site form can only send
`text/plain`, urlencoded or multipart) and a browser's `Origin`, when there is one, must
be this server's or an allowed one. Parsing and validation run in the checker process.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from errorwave.server.links import StoreFull, is_link_id
from errorwave.server.replies import Problem, client_address, read_body
from errorwave.server.routes.deps import Services, services
from errorwave.server.security import origin_allowed

router = APIRouter(tags=["links"])
Svc = Annotated[Services, Depends(services)]
LINK_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["config"], "additionalProperties": False,
    "properties": {"config": {"type": "object"}, "view": {"type": "object"}}}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "not JSON, or not {config, view}"}, 403: {"description": "foreign origin"},
    413: {"description": "too large"}, 415: {"description": "not application/json"},
    422: {"description": "invalid configuration"}, 429: {"description": "rate"},
    503: {"description": "busy"}, 507: {"description": "store full"}}


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json"


@router.post("/api/links", status_code=201, openapi_extra={"requestBody": LINK_BODY},
             responses=ERRORS)
async def create_link(request: Request, svc: Svc) -> Any:
    """Store `{config, view?}`; answer `{id, url}`. The same content gives the same id."""
    if not origin_allowed(request.headers.get("origin"), request.headers.get("host"),
                          svc.settings):
        raise Problem(403, "forbidden_origin", "links are created only from this server's pages")
    if not _is_json(request.headers.get("content-type")):
        raise Problem(415, "bad_media_type", "send the link as application/json")
    if not svc.link_limiter.allow(client_address(request)):
        raise Problem(429, "limit", "too many links created; try again in a minute")
    body = await read_body(request, svc.settings.link_max_bytes)
    status, payload = await svc.checker.link(body)
    if status != 200:
        return JSONResponse(payload, status_code=status)
    assert svc.links is not None and isinstance(payload, str)
    try:
        link_id, _ = await asyncio.to_thread(svc.links.put, payload)
    except StoreFull as err:
        raise Problem(507, "limit", str(err)) from None
    return JSONResponse({"id": link_id, "url": f"/s/{link_id}"}, status_code=201)


@router.get("/api/links/{link_id}", responses={404: {"description": "no such link"}})
async def get_link(link_id: str, svc: Svc) -> Response:
    """`{id, config, view, created, issues}`; `issues` is non-empty when the stored
    configuration no longer validates (other limits, an older version)."""
    if not is_link_id(link_id) or svc.links is None:
        raise Problem(404, "unknown_link", "no such link")
    found = await asyncio.to_thread(svc.links.get, link_id)
    if found is None:
        raise Problem(404, "unknown_link", "no such link")
    text, created = found
    issues = await svc.checker.stored_issues(link_id, text)
    doc = await asyncio.to_thread(json.loads, text)
    return JSONResponse({"id": link_id, "config": doc["config"], "view": doc.get("view", {}),
                         "created": created, "issues": issues})
