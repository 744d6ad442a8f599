"""Short links: what their ids look like, the canonical text stored behind them, and
per-client rate limits. The stores themselves (SQLite, PostgreSQL) are in `stores/`.

The same content (canonical JSON: sorted keys, no spaces) always gets the same id, found
by its sha256; a new content gets `secrets.token_urlsafe(12)` (96 random bits), so ids
reveal nothing and cannot be enumerated. Ids are matched in full against a strict
pattern before any lookup.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

LINK_ID = re.compile(r"[A-Za-z0-9_-]{16}")  # always `fullmatch`: `$` would accept "...\n"
DAY = 86400.0


def is_link_id(text: str) -> bool:
    return LINK_ID.fullmatch(text) is not None


class StoreFull(RuntimeError):
    pass


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


class RateLimiter:
    """Per-client token buckets (e.g. link creations per minute)."""

    def __init__(self, per_minute: float, burst: float | None = None):
        self.rate = per_minute / 60.0
        self.burst = burst if burst is not None else max(1.0, per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            if len(self.buckets) > 10_000:  # forget clients whose buckets are full again
                full = now - self.burst / max(self.rate, 1e-9)
                self.buckets = {k: v for k, v in self.buckets.items() if v[1] > full}
            tokens, stamp = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            ok = tokens >= 1
            self.buckets[key] = (tokens - 1 if ok else tokens, now)
            return ok
