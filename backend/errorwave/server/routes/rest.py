"""Read-only REST: health, rules, presets, and configuration validation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from errorwave.presets import get_preset, list_presets
from errorwave.server.quoting import short
from errorwave.server.replies import Problem, client_address, read_body
from errorwave.server.routes.deps import Services, services

router = APIRouter()
CONFIG_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "A v1 configuration (shared/schema/config.schema.json)"}}}}
Svc = Annotated[Services, Depends(services)]


STARTING: dict[int | str, dict[str, Any]] = {
    503: {"description": "starting: the workers are not ready yet (Retry-After)"}}


def _starting(svc: Services) -> JSONResponse | None:
    """503 {"status": "starting"} until every worker and the configuration checker have
    imported torch and warmed up."""
    if svc.pool is not None and svc.pool.ready and svc.checker.ready:
        return None
    return JSONResponse({"status": "starting"}, status_code=503, headers={"Retry-After": "1"})


@router.get("/healthz", tags=["meta"], responses=STARTING)
async def healthz(svc: Svc) -> Any:
    pool = svc.pool
    return _starting(svc) or {
        "ok": True, "sessions": len(svc.sessions), "max_sessions": svc.settings.max_sessions,
        "workers": len(pool.workers) if pool else 0, "workers_ready": bool(pool and pool.ready)}


@router.get("/api/rules", tags=["rules"], responses=STARTING)
async def rules_route(svc: Svc) -> Any:
    """Each rule: parameters (type, default, range, meaning) and the graphs it supports."""
    return _starting(svc) or svc.rules


@router.get("/api/presets", tags=["presets"])
async def presets_route() -> list[dict[str, Any]]:
    return list_presets()


@router.get("/api/presets/{preset_id}", tags=["presets"])
async def preset_route(preset_id: str) -> Any:
    found = get_preset(preset_id)
    if found is None:
        raise Problem(404, "unknown_preset", f"no preset {short(preset_id)}")
    return found


@router.post("/api/validate", tags=["configs"], openapi_extra={"requestBody": CONFIG_BODY},
             responses={400: {"description": "not JSON"}, 413: {"description": "too large"},
                        422: {"description": "invalid"}, 429: {"description": "rate"},
                        503: {"description": "busy"}})
async def validate_route(request: Request, svc: Svc) -> Any:
    """`{"ok": true, ...}`; 422 with issues naming node and field; 400 for non-JSON.
    Rate-limited per address (`validations_per_minute`)."""
    if not svc.validate_limiter.allow(client_address(request)):
        raise Problem(429, "limit", "too many validations; try again in a minute")
    body = await read_body(request, svc.settings.max_message_bytes)
    status, payload = await svc.checker.validate(body)
    return JSONResponse(payload, status_code=status)
