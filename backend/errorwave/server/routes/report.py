"""POST /api/report: the page's charts as one self-contained plotly HTML file (plotly.js
inlined by the server's plotly, so the page need not ship it twice)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from errorwave.export import report_html
from errorwave.server.replies import Problem, client_address, read_body
from errorwave.server.routes.deps import Services, services

router = APIRouter()
Svc = Annotated[Services, Depends(services)]


class ReportFigure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: list[dict[str, Any]] = Field(max_length=200, description="plotly traces")
    layout: dict[str, Any] = Field(default_factory=dict, description="plotly layout")


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="Errorwave", max_length=200)
    note: str = Field(default="", max_length=2000, description="One line under the title")
    figures: list[ReportFigure] = Field(min_length=1, max_length=12)


@router.post("/api/report", tags=["exports"], response_class=HTMLResponse,
             responses={413: {"description": "too large"}, 422: {"description": "invalid"},
                        429: {"description": "rate"}})
async def report_route(request: Request, svc: Svc) -> Any:
    """`{title, note, figures: [{data, layout}]}` -> an HTML attachment that opens offline."""
    if not svc.validate_limiter.allow(client_address(request)):
        raise Problem(429, "limit", "too many requests; try again in a minute")
    body = await read_body(request, svc.settings.max_message_bytes)
    try:
        req = ReportRequest.model_validate_json(body)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise Problem(422, "invalid", f"report request: {where}: {first['msg']}") from None
    text = report_html(req.title, [f.model_dump() for f in req.figures], req.note)
    return HTMLResponse(text, headers={
        "content-disposition": 'attachment; filename="errorwave-report.html"'})
