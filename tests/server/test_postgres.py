"""Several servers: the link store's rules on both backends (SQLite, PostgreSQL), two server
processes against one PostgreSQL (a link made on one opens on the other; a class is found
where it is held), and the department proxy configuration (deploy/nginx) on Debian's nginx.

PostgreSQL and nginx are Debian's packages (`make install-services`); a real PostgreSQL is
started once per test session on a free loopback port (`initdb` runs as the `postgres` user
when the tests run as root, since it refuses root). Everything binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from errorwave.server.links import StoreFull
from errorwave.server.stores.sqlite import SQLiteStore
from tests.engine.builders import mlp
from tests.server.test_deploy import free_port, stop

ROOT = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1, trust auth, for this test session."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is missing: `make install-services` installs Debian's package")
    root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="ew-pg-"))
    data = folder / "data"
    prefix: list[str] = []
    if root:  # initdb and postgres refuse to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
        "--no-sync", "-E", "UTF8")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(folder / "log"),
        "-o", f"-h 127.0.0.1 -p {port} -k {folder} -F", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def _empty(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS links, classes")


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
    """A fresh store of either backend, with the test's clock and caps."""
    if request.param == "sqlite":
        return lambda **kw: SQLiteStore(tmp_path, **kw)
    url = request.getfixturevalue("postgres_url")
    _empty(url)
    from errorwave.server.stores.postgres import PostgresStore

    return lambda **kw: PostgresStore(url, **kw)


# ----- the link store's rules, on both backends ---------------------------------------------
def test_links_are_content_addressed_and_unguessable(make_store: Callable[..., Any]) -> None:
    store = make_store(max_links=10, max_bytes=1 << 20)
    a, new_a = store.put({"config": {"n": 1}, "view": {"t": 2}})
    again, new_again = store.put({"view": {"t": 2}, "config": {"n": 1}})  # same content
    b, _ = store.put({"config": {"n": 2}})
    assert new_a and not new_again and a == again and a != b and len(a) == 16
    doc = store.get_doc(a)
    assert doc is not None and doc["config"] == {"n": 1} and doc["view"] == {"t": 2}
    assert store.get("AAAAAAAAAAAAAAAA") is None


def test_a_full_store_evicts_expired_then_never_opened_links_first(
        make_store: Callable[..., Any]) -> None:
    now = [1000.0]
    store = make_store(max_links=3, max_bytes=1 << 20, ttl_s=100.0, unused_s=10.0,
                       clock=lambda: now[0])
    used, _ = store.put({"config": {"n": 1}})
    assert store.get(used) is not None
    old_unused, _ = store.put({"config": {"n": 2}})
    now[0] += 20
    young_unused, _ = store.put({"config": {"n": 3}})
    fresh, new = store.put({"config": {"n": 4}})
    assert new and store.get(old_unused) is None
    assert store.get(used) is not None and store.get(fresh) is not None
    with pytest.raises(StoreFull):
        store.put({"config": {"n": 5}})
    assert store.get(young_unused) is not None
    now[0] += 150
    assert store.sweep() == 3
    assert store.put({"config": {"n": 6}})[1]


def test_a_store_is_capped_in_bytes(make_store: Callable[..., Any]) -> None:
    store = make_store(max_links=100, max_bytes=200, unused_s=0.0)
    store.put({"config": {"x": "a" * 120}})
    with pytest.raises(StoreFull):  # the first is too young to evict
        make_store(max_links=100, max_bytes=200, unused_s=1e9).put({"config": {"x": "b" * 120}})


def test_class_records(make_store: Callable[..., Any]) -> None:
    now = [5000.0]
    store = make_store(max_links=10, max_bytes=1 << 20, clock=lambda: now[0])
    assert store.find_class("A-2222-2222-22222") is None
    store.open_class("A-2222-2222-22222", "A", "Ms Rivera")
    found = store.find_class("A-2222-2222-22222")
    assert found == {"code": "A-2222-2222-22222", "server": "A", "title": "Ms Rivera",
                     "created": 5000.0, "closed": None}
    now[0] += 10
    store.close_class("A-2222-2222-22222")
    assert store.find_class("A-2222-2222-22222")["closed"] == 5010.0
    now[0] += 2 * 86400
    store.sweep()  # closed records go after a day
    assert store.find_class("A-2222-2222-22222") is None


# ----- two servers, one PostgreSQL, one proxy -----------------------------------------------
def _serve(port: int, data: Path, server_id: str, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ERRORWAVE_DATA": str(data), "ERRORWAVE_WORKERS": "1",
           "ERRORWAVE_SERVER_ID": server_id, "ERRORWAVE_DATABASE_URL": url,
           "ERRORWAVE_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    return subprocess.Popen([str(Path(sys.executable).with_name("errorwave")), "serve",
                             "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_healthy(procs: dict[int, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 120
    waiting = set(procs)
    while waiting:
        for port in list(waiting):
            proc = procs[port]
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    waiting.discard(port)
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            raise AssertionError("the servers did not start")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def department(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """Servers A and B against one PostgreSQL, and nginx in front with deploy/nginx."""
    _empty(postgres_url)
    ports = {"A": free_port(), "B": free_port()}
    procs = {ports[s]: _serve(ports[s], tmp_path_factory.mktemp(f"data{s}"), s, postgres_url)
             for s in ports}
    nginx = None
    try:
        _wait_healthy(procs)
        ports["proxy"] = free_port()
        nginx = _nginx(tmp_path_factory.mktemp("nginx"), ports)
        yield ports
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for proc in procs.values():
            stop(proc)


def _nginx(folder: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(exe).exists():
        pytest.fail("nginx is missing: `make install-services` installs Debian's package")
    deploy = ROOT / "deploy" / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream ew_a {{ server 127.0.0.1:{ports['A']}; }}
    upstream ew_b {{ server 127.0.0.1:{ports['B']}; }}
    upstream ew_any {{
        hash $remote_addr consistent;
        server 127.0.0.1:{ports['A']};
        server 127.0.0.1:{ports['B']};
    }}
    include {deploy}/maps.conf;
    server {{
        listen 127.0.0.1:{ports['proxy']};
        include {deploy}/routes.conf;
    }}
}}
""")
    proc = subprocess.Popen([exe, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "nginx exited")
        try:
            if httpx.get(f"http://127.0.0.1:{ports['proxy']}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("nginx did not start")
        time.sleep(0.1)


def _ws(port: int, query: str = "") -> Any:
    return connect(f"ws://127.0.0.1:{port}/ws{query}", open_timeout=10)


def _until(ws: Any, stop: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if stop(msg):
            return msg


def _share(ws: Any) -> str:
    ws.send(json.dumps({"type": "load", "preset": "fpa-chain-gamma1"}))
    _until(ws, lambda m: m["type"] == "frame")
    ws.send(json.dumps({"type": "share", "title": "T"}))
    return str(_until(ws, lambda m: m.get("kind") == "shared")["code"])


def test_a_link_made_on_one_server_opens_on_the_other(department: dict[str, int]) -> None:
    a, b = (f"http://127.0.0.1:{department[s]}" for s in "AB")
    made = httpx.post(f"{a}/api/links", json={"config": mlp(2, seed=77), "view": {"t": 3}})
    assert made.status_code == 201, made.text
    link = made.json()["id"]
    got = httpx.get(f"{b}/api/links/{link}")
    assert got.status_code == 200 and got.json()["view"] == {"t": 3}
    assert httpx.get(f"{b}/s/{link}").status_code == 200
    # the same content on the other server: the same id
    again = httpx.post(f"{b}/api/links", json={"config": mlp(2, seed=77), "view": {"t": 3}})
    assert again.json()["id"] == link


def test_a_class_is_found_where_it_is_held_and_the_proxy_routes_to_it(
        department: dict[str, int]) -> None:
    proxy = department["proxy"]
    with _ws(department["A"]) as owner_a, _ws(department["B"]) as owner_b:
        for w in (owner_a, owner_b):
            _until(w, lambda m: m["type"] == "welcome")
        code_a, code_b = _share(owner_a), _share(owner_b)
        assert code_a.startswith("A-") and code_b.startswith("B-")
        # on the wrong server, the answer names the server that holds the class
        with _ws(department["B"], f"?class={code_a}") as wrong:
            err = _until(wrong, lambda m: m["type"] == "error")
            assert err["code"] == "unknown_class" and "server A" in err["message"], err
        # through the proxy, each class code reaches its own server
        for code in (code_a, code_b, code_a.lower()):
            with _ws(proxy, f"?class={code}") as f:
                got = _until(f, lambda m: m["type"] in ("error", "snapshot"))
                assert got["type"] == "snapshot", got
            assert httpx.get(f"http://127.0.0.1:{proxy}/c/{code}").status_code == 200
        # the rest goes anywhere: links, the app, a session of one's own
        made = httpx.post(f"http://127.0.0.1:{proxy}/api/links", json={"config": mlp(2, seed=5)})
        assert made.status_code == 201
        assert httpx.get(f"http://127.0.0.1:{department['A']}/api/links/{made.json()['id']}"
                         ).status_code == 200
        with _ws(proxy) as own:
            _until(own, lambda m: m["type"] == "welcome")
            own.send(json.dumps({"type": "load", "preset": "fpa-chain-gamma1"}))
            _until(own, lambda m: m["type"] == "frame")
    # the owners left: the classes ended, recorded for every server
    deadline = time.monotonic() + 10
    with _ws(department["B"], f"?class={code_a}") as late:
        err = _until(late, lambda m: m["type"] == "error")
        while "ended" not in err["message"] and time.monotonic() < deadline:
            time.sleep(0.2)
            with _ws(department["B"], f"?class={code_a}") as again:
                err = _until(again, lambda m: m["type"] == "error")
        assert "has ended" in err["message"], err
