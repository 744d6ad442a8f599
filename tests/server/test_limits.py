"""Limits that hold against abuse, each attacked over real HTTP and websockets: the Host
allow-list, origins and media types of link creation, forwarded headers, the per-address
session cap, idle reaping, validation off the server process and rate-limited, short
error replies, strict messages, the former 500s, security headers and link expiry.

Rate-limited cases use their own loopback source address (127.0.0.x) so that each test
starts with full buckets; the server keys its limits on the real peer address."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from errorwave.server.checker import Checker
from errorwave.server.limits import Settings
from errorwave.server.links import StoreFull
from errorwave.server.stores.sqlite import SQLiteStore
from tests.engine.builders import mlp
from tests.server.helpers import Client, LiveServer, make_settings

JSON = {"content-type": "application/json"}
PRESET = "fpa-chain-gamma1"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("limits"), workers=1,
                             allowed_hosts=("class.example", "lab.example:9999"),
                             max_sessions_per_address=3, idle_timeout_s=3.0,
                             reap_interval_s=0.2, validations_per_minute=4, links_per_minute=3,
                             link_ttl_days=3 / 86400, link_sweep_interval_s=0.2)
    live = LiveServer(settings).start()
    yield live
    live.stop()


def http_from(live: LiveServer, source: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=live.url, timeout=10, transport=transport)


def ws_from(live: LiveServer, source: str = "127.0.0.1") -> Client:
    return Client(connect(live.ws_url, open_timeout=10, legacy=True,
                          source_address=(source, 0)))


def handshake(live: LiveServer, host: str, origin: str | None = None) -> str:
    """The status line of a raw websocket handshake with this Host (and Origin)."""
    lines = ["GET /ws HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).split(b"\r\n", 1)[0].decode()


# ----- hosts, origins, headers ---------------------------------------------------------------
def test_host_allow_list_stops_dns_rebinding(hostile: LiveServer) -> None:
    with httpx.Client(base_url=hostile.url, timeout=10) as c:
        for host in ("localhost", f"localhost:{hostile.port}", "127.0.0.1:1", "[::1]:80",
                     "class.example", "class.example:8000", "lab.example:9999"):
            assert c.get("/healthz", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", f"evil.example:{hostile.port}", "lab.example:80",
                     "127.0.0.1.evil.example", "localhost:abc"):
            r = c.get("/healthz", headers={"Host": host})
            assert r.status_code == 400 and r.json()["code"] == "bad_host", host
    # the rebinding handshake: Host and Origin agree, but the host is foreign
    rebound = f"evil.example:{hostile.port}"
    assert " 403 " in handshake(hostile, rebound, f"http://{rebound}") + " "
    assert " 101 " in handshake(hostile, f"127.0.0.1:{hostile.port}") + " "


def test_security_headers(hostile: LiveServer) -> None:
    with httpx.Client(base_url=hostile.url, timeout=10) as c:
        for path in ("/", "/api/rules", "/s/AAAAAAAAAAAAAAAA", "/api/presets/nope"):
            r = c.get(path)
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'self'" in csp and "script-src 'self';" in csp, path
            assert "object-src 'none'" in csp and "'unsafe-eval'" not in csp
            assert r.headers["x-frame-options"] == "SAMEORIGIN"
            assert r.headers["x-content-type-options"] == "nosniff"


def test_links_only_as_json_and_from_allowed_origins(hostile: LiveServer) -> None:
    body = json.dumps({"config": mlp(2, seed=41)})
    own = f"http://127.0.0.1:{hostile.port}"
    with http_from(hostile, "127.0.0.2") as c:
        # a cross-site form can post text/plain: refused, whatever the origin
        r = c.post("/api/links", content=body, headers={"content-type": "text/plain"})
        assert r.status_code == 415 and r.json()["code"] == "bad_media_type"
        r = c.post("/api/links", content=body,
                   headers={**JSON, "origin": "http://evil.example"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden_origin"
        assert c.post("/api/links", content=body, headers={**JSON, "origin": own}).status_code == 201
        listed = {**JSON, "origin": "http://allowed.example", "content-type":
                  "application/json; charset=utf-8"}
        assert c.post("/api/links", content=body, headers=listed).status_code == 201
        assert c.post("/api/links", content=body, headers=JSON).status_code == 201  # no Origin


def test_forwarded_headers_are_not_trusted_by_default(hostile: LiveServer) -> None:
    with http_from(hostile, "127.0.0.3") as c:
        codes = [c.post("/api/links", json={"config": mlp(2, seed=100 + i)},
                        headers={"x-forwarded-for": f"10.0.0.{i}"}).status_code
                 for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]


def test_forwarded_headers_from_a_configured_proxy(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, workers=0, links_per_minute=1,
                                    forwarded_allow_ips="127.0.0.1")).start()
    try:
        with httpx.Client(base_url=live.url, timeout=10) as c:
            codes = [c.post("/api/links", json={"config": mlp(2, seed=200 + i)},
                            headers={"x-forwarded-for": f"192.0.2.{i % 2}"}).status_code
                     for i in range(4)]
        assert codes == [201, 201, 429, 429]  # one bucket per forwarded client
    finally:
        live.stop()


# ----- sessions ------------------------------------------------------------------------------
def test_per_address_session_cap(hostile: LiveServer) -> None:
    cap = hostile.settings.max_sessions_per_address
    held = [ws_from(hostile, "127.0.0.4") for _ in range(cap)]
    try:
        for c in held:  # activity: none of them may be reaped as idle meanwhile
            c.send({"type": "hello"})
        extra = connect(hostile.ws_url, open_timeout=10, legacy=True,
                        source_address=("127.0.0.4", 0))
        err = json.loads(extra.recv(10))
        assert err["type"] == "error" and err["code"] == "limit" and "per address" in err["message"]
        with pytest.raises(ConnectionClosed) as closed:
            extra.recv(10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        with ws_from(hostile, "127.0.0.5") as other:  # another address is not affected
            other.send({"type": "hello"})
            assert other.recv()["type"] == "welcome"
        held.pop().close()
        deadline = time.monotonic() + 5
        while sum(1 for s in hostile.sessions.values()
                  if s.ws.client.host == "127.0.0.4") >= cap:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with ws_from(hostile, "127.0.0.4") as again:
            again.send({"type": "hello"})
            assert again.recv()["type"] == "welcome"
    finally:
        for c in held:
            c.close()


def test_a_near_zero_play_rate_is_idle(hostile: LiveServer) -> None:
    with ws_from(hostile, "127.0.0.6") as slow, ws_from(hostile, "127.0.0.6") as busy:
        for c in (slow, busy):
            c.send({"type": "load", "preset": PRESET})
            c.until(lambda m: isinstance(m, dict) and m["type"] == "frame")
        slow.send({"type": "play", "rate": 1e-8})
        busy.send({"type": "play", "rate": 20, "across_examples": True})
        start = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - start < 10:
                with contextlib.suppress(TimeoutError):
                    slow.recv(0.5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        reaped_after = time.monotonic() - start
        assert hostile.settings.idle_timeout_s - 0.5 < reaped_after < 8
        # the session playing at 20 frames/s got no message either, and still plays
        seen = busy.until(lambda m: isinstance(m, dict) and m["type"] == "frame", timeout=5)
        assert seen, "a real play rate is activity: that session must live"
        assert any(s.playing for s in hostile.sessions.values())
        busy.send({"type": "pause"})


# ----- validation ----------------------------------------------------------------------------
def test_validation_runs_in_a_niced_helper_and_is_rate_limited(hostile: LiveServer) -> None:
    checker: Checker = hostile.app.state.services.checker
    assert checker.executor is not None
    pid = checker.executor.submit(os.getpid).result(timeout=10)
    assert pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) >= 10
    from concurrent.futures import ThreadPoolExecutor

    def validate(_: int) -> httpx.Response:
        with http_from(hostile, "127.0.0.7") as c:
            return c.post("/api/validate", json=mlp(2))

    # at once, so that the bucket (4 a minute) cannot refill meanwhile however slow the checks
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(validate, range(6)))
    assert sorted(r.status_code for r in answers) == [200] * 4 + [429] * 2
    assert all(r.headers["retry-after"] == "60" for r in answers if r.status_code == 429)
    with http_from(hostile, "127.0.0.8") as c:  # another address has its own bucket
        r = c.post("/api/validate", content=b"not json at all")
        assert r.status_code == 400 and r.json()["code"] == "bad_json"


def test_checks_beyond_the_waiting_cap_get_503(tmp_path: Path) -> None:
    import threading

    settings = Settings(workers=0, max_validations_waiting=2, data_dir=str(tmp_path))
    gate = threading.Event()

    async def scenario() -> list[Any]:
        checker = Checker(settings)
        await checker.start()
        try:
            jobs = [asyncio.ensure_future(checker.run(gate.wait, 5)) for _ in range(2)]
            await asyncio.sleep(0.05)
            try:
                await checker.run(gate.wait, 5)
                third: Any = "ran"
            except Exception as err:  # noqa: BLE001 - the Problem is what we look at
                third = err
            gate.set()
            return [*(await asyncio.gather(*jobs)), third]
        finally:
            await checker.stop()

    from tests.server.helpers import run_coroutine

    first, second, third = run_coroutine(scenario())
    assert first is True and second is True
    assert getattr(third, "status", None) == 503


# ----- replies, strict messages, the former 500s ---------------------------------------------
def test_error_replies_quote_only_a_short_prefix(hostile: LiveServer) -> None:
    huge = "x" * 60_000
    with ws_from(hostile, "127.0.0.9") as c:
        c.send(json.dumps({"type": huge}))
        raw = c.recv_raw()
        assert isinstance(raw, str) and len(raw) < 1000 and json.loads(raw)["code"] == "bad_message"
        c.send(json.dumps({"type": "load", "config": {**mlp(2), huge: 1}}))
        raw = c.recv_raw()
        assert len(raw) < 2000 and json.loads(raw)["code"] in ("invalid_config", "bad_message")
    with http_from(hostile, "127.0.0.9") as h:
        r = h.get("/api/presets/" + "y" * 5000)
        assert r.status_code == 404 and len(r.content) < 500
        r = h.post("/api/validate", json={**mlp(2), "k" * 50_000: 1})
        assert r.status_code == 422 and len(r.content) < 2000


def test_messages_are_not_coerced(hostile: LiveServer) -> None:
    with ws_from(hostile, "127.0.0.10") as c:
        for bad in ({"type": "step", "n": "5"}, {"type": "step", "n": True},
                    {"type": "hello", "binary": "yes"}, {"type": "seek", "t": 1.0},
                    {"type": "play", "rate": "20"}):
            c.send(bad)
            err = c.recv()
            assert err["type"] == "error" and err["code"] == "bad_message", bad
        c.send({"type": "hello", "binary": False})
        assert c.recv()["type"] == "welcome"


def nested(depth: int) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for _ in range(depth):
        view = {"a": view}
    return view


def test_former_500s_are_clear_4xx(hostile: LiveServer) -> None:
    config = mlp(2, seed=77)
    with http_from(hostile, "127.0.0.11") as c:
        for depth in (300, 990, 5000):
            view = '{"a":' * depth + "{}" + "}" * depth
            body = '{"config": ' + json.dumps(config) + ', "view": ' + view + "}"
            r = c.post("/api/links", content=body, headers=JSON)
            assert r.status_code in (400, 413) and "nested" in r.json()["message"], depth
    with http_from(hostile, "127.0.0.12") as c:
        body = json.dumps({"config": config, "view": {"label": "\ud800"}})  # escaped surrogate
        assert "\\ud800" in body
        r = c.post("/api/links", content=body, headers=JSON)
        assert r.status_code == 400 and "surrogate" in r.json()["message"]
        r = c.post("/api/validate", content=json.dumps({**config, "title": "\udfff"}))
        assert r.status_code == 400
        r = c.post("/api/validate", content=b"[" * 60_000)
        assert r.status_code == 400
    with http_from(hostile, "127.0.0.13") as c:
        link = c.post("/api/links", json={"config": config, "view": nested(30)}).json()["id"]
        assert c.get(f"/api/links/{link}").json()["view"] == nested(30)  # shallow reads back
        assert c.get(f"/s/{link}").status_code == 200
        for path in (f"/s/{link}%0a", f"/s/{link}%0A", f"/api/links/{link}%0a", f"/s/{link}%00"):
            assert c.get(path).status_code == 404, path


# ----- links expire --------------------------------------------------------------------------
def test_links_unused_for_the_ttl_expire(hostile: LiveServer) -> None:
    ttl = hostile.settings.link_ttl_days * 86400
    with http_from(hostile, "127.0.0.14") as c:
        kept = c.post("/api/links", json={"config": mlp(2, seed=300)}).json()["id"]
        left = c.post("/api/links", json={"config": mlp(2, seed=301)}).json()["id"]
        start = time.monotonic()
        while time.monotonic() - start < ttl + 1.5:  # keep one in use
            assert c.get(f"/api/links/{kept}").status_code == 200
            time.sleep(ttl / 6)
        assert c.get(f"/api/links/{left}").status_code == 404
        assert c.get(f"/api/links/{kept}").status_code == 200


def test_a_full_store_evicts_expired_then_never_opened_links_first(tmp_path: Path) -> None:
    now = [1000.0]
    store = SQLiteStore(tmp_path, max_links=3, max_bytes=1 << 20, ttl_s=100.0, unused_s=10.0,
                      clock=lambda: now[0])
    used, _ = store.put({"config": {"n": 1}})
    assert store.get(used) is not None  # opened: in use
    old_unused, _ = store.put({"config": {"n": 2}})
    now[0] += 20
    young_unused, _ = store.put({"config": {"n": 3}})
    fresh, new = store.put({"config": {"n": 4}})  # full: the old never-opened link goes
    assert new and store.get(old_unused) is None
    assert store.get(used) is not None and store.get(fresh) is not None
    with pytest.raises(StoreFull):  # the rest are opened or too young to evict
        store.put({"config": {"n": 5}})
    assert store.get(young_unused) is not None
    now[0] += 150  # past the ttl with no use: expired, swept
    assert store.sweep() == 3
    assert store.put({"config": {"n": 6}})[1]
