"""Small pieces shared by the REST routes: problem replies, capped bodies, client address."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from errorwave.server.quoting import clip, clip_issues


class Problem(Exception):
    """An error answer: raised anywhere in a route, rendered by `problem`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> JSONResponse:
        return problem(self.status, self.code, self.message, **self.extra)


def problem(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    if "issues" in extra:
        extra["issues"] = clip_issues(extra["issues"])
    return JSONResponse({"ok": False, "code": code, "message": clip(message), **extra},
                        status_code=status)


def client_address(request: Request) -> str:
    """The peer address (rewritten from X-Forwarded-For only for configured proxies)."""
    return request.client.host if request.client else "?"


async def read_body(request: Request, cap: int) -> bytes:
    """The body, or Problem 413 as soon as it is known to exceed `cap` bytes."""
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > cap:
        raise Problem(413, "too_large", f"the body exceeds the limit of {cap} bytes")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            raise Problem(413, "too_large", f"the body exceeds the limit of {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(payload: Any, status: int = 200) -> Response:
    return JSONResponse(payload, status_code=status)
