"""Server settings: caps on sessions, messages, graphs, steps and time; read from the environment.

Every setting has an `ERRORWAVE_*` environment variable (see docs/server.md). The
engine-level caps (nodes, units, steps, parameters, edges) are tighter than the engine's
own defaults: a classroom server runs many sessions on a few cores.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from errorwave.config import Limits
from errorwave.resources import web_dir

REPO_ROOT = Path(__file__).resolve().parents[3]


def _default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    # where things live
    data_dir: str = "./data"
    frontend_dir: str = str(web_dir())  # the wheel's copy, or frontend/dist in a checkout
    # websocket origins allowed besides the server's own (comma list in the env; "*" = any)
    origins: tuple[str, ...] = ()
    # Host names served besides localhost, 127.0.0.1 and [::1] (any port): comma list in the
    # env, "name" or "name:port", "*" = any. A foreign Host is refused (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    # proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips:
    # comma list of addresses or networks, "*" = any); empty: the headers are ignored
    forwarded_allow_ips: str = ""
    # who may frame the app (Content-Security-Policy frame-ancestors)
    frame_ancestors: str = "'self'"
    # sessions and compute
    max_sessions: int = 256
    max_sessions_per_address: int = 64  # computing sessions from one client address
    idle_min_rate: float = 1.0          # playing slower than this (frames/s) counts as idle
    workers: int = field(default_factory=_default_workers)  # 0: compute in one thread
    step_cpu_limit_s: float = 0.5   # one step over this much CPU pauses the session
    hard_timeout_s: float = 20.0    # a worker silent this long is killed and restarted
    chunk_budget_s: float = 0.03    # multi-step requests yield to other sessions this often
    history_bytes: int = 4 << 20    # frames kept per session for seek back
    play_ahead: int = 1             # while playing, compute the next frame during the wait
    max_training_examples: int = 200_000  # examples one training run may train on
    training_updates_s: float = 0.25      # training progress goes out at most this often
    training_boundary_s: float = 1.0      # the decision boundary is recomputed this often
    preload_training: bool = True         # workers import training's modules before ready
    # engine caps
    max_nodes: int = 200
    max_units: int = 256
    max_steps: int = 2000
    max_params: int = 250_000
    max_edges: int = 1000
    # websocket messages
    max_message_bytes: int = 1 << 20     # larger: error reply, socket stays open
    ws_max_bytes: int = 4 << 20          # larger still: closed with 1009 by the transport
    max_rate: float = 120.0              # play frames per second
    messages_per_second: float = 50.0    # client messages, token bucket
    message_burst: int = 100
    max_pending: int = 256               # queued control messages before a client is cut off
    outbox_bytes: int = 512 << 10        # bytes waiting per client (frames coalesce past it)
    # time
    send_timeout_s: float = 5.0     # one send's deadline; a frame that misses it is dropped
    stall_s: float = 1.0            # sender blocked this long: stop computing frames for it
    stuck_timeout_s: float = 30.0   # no send progress this long: the session is ended
    idle_timeout_s: float = 1800.0  # no message and not playing this long: reaped
    reap_interval_s: float = 5.0
    ws_ping_interval_s: float = 20.0
    # configuration checks (POST /api/validate, links): a niced helper process
    validations_per_minute: float = 120.0  # per client address (the editor checks each edit)
    max_validations_waiting: int = 8      # more in flight: 503
    max_json_depth: int = 64              # REST bodies nested deeper: 400
    # short links
    link_max_bytes: int = 256 << 10       # one link's body (request and stored form)
    links_per_minute: float = 30.0
    max_links: int = 200_000
    max_link_store_bytes: int = 512 << 20
    link_ttl_days: float = 400.0          # a link unused this long is deleted (>= a year)
    link_unused_days: float = 7.0         # never-opened links this old go first when full
    link_sweep_interval_s: float = 3600.0
    # classes (classes.py) and several servers (docs/deploy.md)
    server_id: str = "A"                 # prefix of this server's class codes (A-Z, 2-9)
    database_url: str = ""               # postgresql://...: links and classes shared; else SQLite
    max_followers: int = 1000            # per class; followers are not computing sessions
    follows_per_minute: float = 600.0    # follow attempts per client address (a class on one NAT)
    follow_failures_per_minute: float = 20.0  # unknown codes per client address

    def engine_limits(self) -> Limits:
        return Limits(max_nodes=self.max_nodes, max_units=self.max_units, max_steps=self.max_steps,
                      max_params=self.max_params, max_edges=self.max_edges)

    def public_limits(self) -> dict[str, Any]:
        """What a client is told in `welcome`."""
        return {**self.engine_limits().model_dump(), "max_message_bytes": self.max_message_bytes,
                "max_rate": self.max_rate, "max_sessions": self.max_sessions,
                "messages_per_second": self.messages_per_second,
                "step_cpu_limit_s": self.step_cpu_limit_s, "idle_timeout_s": self.idle_timeout_s,
                "history_bytes": self.history_bytes,
                "max_training_examples": self.max_training_examples}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get("ERRORWAVE_" + f.name.upper())
            if f.name == "data_dir":
                raw = env.get("ERRORWAVE_DATA", raw)
            if f.name == "frontend_dir":
                raw = env.get("ERRORWAVE_FRONTEND", raw)
            if raw is None or raw == "":
                continue
            if f.name in ("origins", "allowed_hosts"):
                values[f.name] = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)
