"""The explorer inline in Jupyter: `errorwave.show(config_or_preset)`.

`show` starts a local server once per kernel (uvicorn in a background thread, on
127.0.0.1 and a free port), then returns an IFrame opened on the configuration through
the page's permalink (`/#v=1&c=<deflate-raw, base64url JSON>`, the format of
frontend/src/state/permalink.ts). That server lets `http://localhost:*` and
`http://127.0.0.1:*` frame it (CSP frame-ancestors), so a local Jupyter page can; a
plain `errorwave serve` keeps the default `'self'`. Needs `pip install 'errorwave[notebook]'`.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from errorwave.config import Config
from errorwave.presets import get_preset
from errorwave.validation import ConfigInvalid, Issue, parse_config

FRAME_ANCESTORS = "'self' http://localhost:* http://127.0.0.1:*"
LINK_VERSION = 1  # permalink.ts LINK_VERSION
START_TIMEOUT_S = 60.0

_lock = threading.Lock()
_server: NotebookServer | None = None


def encode_config(config: dict[str, Any]) -> str:
    """The permalink's `c` value: raw deflate, then unpadded base64url (compress.ts)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflate.compress(json.dumps(config, separators=(",", ":")).encode()) + deflate.flush()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_config(text: str) -> dict[str, Any]:
    """Inverse of encode_config (for tests and for reading a link back)."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return json.loads(zlib.decompress(raw, -15))


def permalink(config: dict[str, Any], t: int = 0, selected: str | None = None,
              presenter: bool = False) -> str:
    """The fragment (without '#') that opens the page on this configuration and view."""
    parts = [f"v={LINK_VERSION}", f"c={encode_config(config)}"]
    if t:
        parts.append(f"t={int(t)}")
    if selected:
        parts.append(f"sel={quote(selected, safe='')}")
    if presenter:
        parts.append("pm=1")
    return "&".join(parts)


def resolve_config(config_or_preset: Any) -> dict[str, Any]:
    """A preset id ("zil-mlp" or "preset:zil-mlp"), a path to a JSON file, a configuration
    (dict, JSON text or `Config`) or an `Engine`; validated, as a JSON-ready dict."""
    from errorwave.engine import Engine

    item = config_or_preset
    if isinstance(item, Engine):
        item = item.config
    if isinstance(item, Config):
        item = item.model_dump(mode="json", exclude_none=True)
    elif isinstance(item, Path):
        item = json.loads(item.read_text())
    elif isinstance(item, str) and not item.lstrip().startswith("{"):
        name = item.removeprefix("preset:")
        found = get_preset(name)
        if found is not None:
            item = found
        elif item.endswith(".json") and Path(item).is_file():
            item = json.loads(Path(item).read_text())
        else:
            raise ConfigInvalid([Issue("", f"no preset {name!r} and no JSON file {item!r} "
                                       "(see errorwave.presets.list_presets())", None, None)])
    config, _ = parse_config(item)
    return config.model_dump(mode="json", exclude_none=True)


class NotebookServer:
    """`errorwave serve` in a daemon thread of this process, framable by local pages."""

    def __init__(self, port: int = 0):
        import uvicorn

        from errorwave.server.app import create_app, uvicorn_kwargs
        from errorwave.server.limits import Settings

        overrides: dict[str, Any] = {"frame_ancestors": FRAME_ANCESTORS}
        if not os.environ.get("ERRORWAVE_WORKERS"):
            overrides["workers"] = 1  # one user: one worker process is plenty
        if not os.environ.get("ERRORWAVE_DATA"):
            overrides["data_dir"] = str(Path(tempfile.gettempdir()) / "errorwave-notebook")
        self.settings = Settings.from_env(**overrides)
        self.app = create_app(self.settings)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", **uvicorn_kwargs(self.settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="errorwave-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.server.should_exit

    def start(self, timeout: float = START_TIMEOUT_S) -> NotebookServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not (self.server.started and getattr(self.app.state, "pool", None) is not None
                   and self.app.state.pool.ready):
            if not self.thread.is_alive():
                raise RuntimeError("the errorwave server stopped while starting (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the errorwave server did not start within {timeout:.0f} s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def server(port: int | None = None) -> NotebookServer:
    """The running notebook server, started on first use (on `port`, default a free one)."""
    global _server
    with _lock:
        if _server is not None and _server.alive:
            if port not in (None, _server.port):
                raise ValueError(f"the errorwave server already runs on port {_server.port}; "
                                 "call errorwave.notebook.stop() first to move it")
            return _server
        _server = NotebookServer(port or 0).start()
        return _server


def stop() -> None:
    """Stop the notebook server (the next `show` starts a new one)."""
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None


def url(config_or_preset: Any, t: int = 0, selected: str | None = None, presenter: bool = False,
        port: int | None = None) -> str:
    """The address of the page opened on this configuration (starts the server if needed)."""
    config = resolve_config(config_or_preset)
    return f"{server(port).url}/#{permalink(config, t, selected, presenter)}"


def show(config_or_preset: Any, *, t: int = 0, selected: str | None = None, presenter: bool = False,
         width: int | str = "100%", height: int = 720, port: int | None = None) -> Any:
    """Display the explorer inline, opened on a preset id, a configuration or an Engine.
    The last expression of a cell displays it; `.src` is the page's address."""
    try:
        from IPython.display import IFrame
    except ImportError as err:
        raise ImportError("errorwave.show needs IPython: pip install 'errorwave[notebook]'") from err
    return IFrame(url(config_or_preset, t, selected, presenter, port), width=width, height=height)


__all__ = ["show", "url", "server", "stop", "permalink", "encode_config", "decode_config"]
