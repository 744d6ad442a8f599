"""What every request passes before a route: the Host allow-list, origin checks, and the
security headers of every answer.

- **Host allow-list** (DNS rebinding). A page on `evil.example` whose name is rebound to
  127.0.0.1 reaches this server with `Host: evil.example` and a matching `Origin`, so an
  origin check alone lets it in. Only the loopback names (`localhost`, `127.0.0.1`,
  `[::1]`, any port) and the hosts listed in `allowed_hosts` are answered; any other Host,
  or none, gets 400 (HTTP) or a refused handshake (websocket).
- **Origins.** A browser request with an `Origin` must come from the server's own origin
  (Origin host:port equals Host, which already passed the allow-list) or one listed in
  `origins`; no `Origin` (a script, curl) is accepted.
- **Headers.** A Content-Security-Policy that allows only this server's own scripts and
  connections (inline styles stay allowed: React Flow and plotly set them), with
  `frame-ancestors` from the settings (`'self'` by default), plus nosniff and
  same-origin referrers.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from errorwave.server.limits import Settings
from errorwave.server.quoting import short

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
# FastAPI's /docs and /redoc pages load their script and style from a CDN, inline
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
DOC_SOURCES = "https://cdn.jsdelivr.net"


def split_host(value: str) -> tuple[str, str | None]:
    """`Host`-style `name[:port]` (IPv6 in brackets) as (lowercase name, port or None)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        rest = value[end + 1:]
        return value[: end + 1], (rest[1:] if rest.startswith(":") else None)
    name, sep, port = value.partition(":")
    return name.rstrip("."), (port if sep else None)


class HostPolicy:
    """Loopback names on any port, plus `allowed_hosts` entries (`name` on any port,
    `name:port` on that port only, `*` anything)."""

    def __init__(self, extra: tuple[str, ...] = ()):
        self.any = "*" in extra
        self.names = set(LOOPBACK)
        self.pairs: set[tuple[str, str]] = set()
        for entry in extra:
            if entry == "*":
                continue
            name, port = split_host(entry)
            if port is None:
                self.names.add(name)
            else:
                self.pairs.add((name, port))

    def allows(self, host: str | None) -> bool:
        if self.any:
            return True
        if not host:
            return False
        name, port = split_host(host)
        if port is not None and not (port.isdigit() and len(port) <= 5):
            return False
        return name in self.names or (name, port or "") in self.pairs


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """No Origin (not a browser), the server's own origin, or one on the allow-list."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if "*" in settings.origins or origin in settings.origins:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) \
        and parts.netloc.lower() == (host or "").lower()


def content_security_policy(settings: Settings, host: str, path: str) -> str:
    if path in DOC_PATHS:
        scripts = f"'self' 'unsafe-inline' {DOC_SOURCES}"
        styles = f"'self' 'unsafe-inline' {DOC_SOURCES}"
        images = f"'self' data: {DOC_SOURCES} https://fastapi.tiangolo.com"
    else:
        scripts, styles, images = "'self'", "'self' 'unsafe-inline'", "'self' data: blob:"
    # 'self' covers ws:/wss: to the same host in CSP 3; older engines need them named
    connect = f"'self' ws://{host} wss://{host}" if host else "'self'"
    return "; ".join([
        "default-src 'self'", f"script-src {scripts}", f"style-src {styles}",
        f"img-src {images}", "font-src 'self' data:", f"connect-src {connect}",
        "worker-src 'self' blob:", "object-src 'none'", "base-uri 'self'",
        "form-action 'self'", f"frame-ancestors {settings.frame_ancestors}"])


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class Guard:
    """ASGI middleware: refuses foreign hosts, adds the security headers."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self.hosts = HostPolicy(settings.allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if not self.hosts.allows(host):
            await self._refuse(scope, send, host)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        csp = content_security_policy(self.settings, host or "", scope["path"]).encode()
        frame_self = self.settings.frame_ancestors.strip() == "'self'"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [(b"content-security-policy", csp),
                         (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"same-origin")]
                if frame_self:
                    extra.append((b"x-frame-options", b"SAMEORIGIN"))
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, send: Send, host: str | None) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        body = json.dumps({"ok": False, "code": "bad_host", "message":
                           f"this server does not answer to the host {short(host or '')}; "
                           "list it in ERRORWAVE_ALLOWED_HOSTS"}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
