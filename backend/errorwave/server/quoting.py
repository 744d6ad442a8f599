"""Error replies quote at most a short prefix of what a client sent.

A reply must never grow with the input: a 900 kB unknown `type` once came back as a
900 kB error. Every message and issue that reaches a client goes through `clip`.
"""

from __future__ import annotations

from typing import Any

QUOTE_CHARS = 64      # longest quoted piece of client input
MESSAGE_CHARS = 400   # longest message of an error reply
MAX_ISSUES = 50


def short(value: object, limit: int = QUOTE_CHARS) -> str:
    """`repr`-style quote of a client value, cut to `limit` characters (`...` marks the cut).
    Lone surrogates are escaped, so the result always encodes as UTF-8."""
    text = value if isinstance(value, str) else str(value)
    cut = text[:limit]
    quoted = repr(cut).encode("utf-8", "backslashreplace").decode("utf-8")
    return quoted + ("..." if len(text) > limit else "")


def clip(message: str, limit: int = MESSAGE_CHARS) -> str:
    """A whole message, cut to `limit` characters and made encodable."""
    text = message if len(message) <= limit else message[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clip_issues(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation issues (path, node, field, message) with every text field clipped."""
    out = []
    for issue in issues[:MAX_ISSUES]:
        out.append({k: clip(v, 200) if isinstance(v, str) else v for k, v in issue.items()})
    return out
