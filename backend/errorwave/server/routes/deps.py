"""What the routes share, kept on `app.state` by `create_app` and read through `Services`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from errorwave.server.checker import Checker
from errorwave.server.classes import Classes
from errorwave.server.limits import Settings
from errorwave.server.links import RateLimiter
from errorwave.server.pool import ComputePool
from errorwave.server.stores import Store


@dataclass
class Services:
    settings: Settings
    rules: list[dict[str, Any]]
    checker: Checker
    link_limiter: RateLimiter
    validate_limiter: RateLimiter
    sessions: dict[str, Any] = field(default_factory=dict)
    per_address: dict[str, int] = field(default_factory=dict)  # computing sessions
    pool: ComputePool | None = None
    links: Store | None = None  # SQLite or PostgreSQL (stores/)
    classes: Classes = field(default=None)  # type: ignore[assignment]  # set by create_app


def services(request: Request) -> Services:
    """A dependency: the app's Services."""
    found: Services = request.app.state.services
    return found
