"""The typed protocol between the server process and its compute workers.

A request is one pydantic model per operation (discriminated by `op`); the worker answers
every request with one `Reply`. Both travel pickled over the worker's socket (pool.py) and
are handled by `compute.Core` through one handler table keyed by `op`. Client input is
validated once, in the server process (protocol.py); these models only carry it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Encoding = Literal["json", "binary"]
# What goes to a client: (kind, payload per encoding). A frame is encoded once per encoding
# its audience asked for; other kinds are JSON text for everybody.
Payloads = dict[str, str | bytes]
Out = list[tuple[str, Payloads]]


class _Req(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sid: str = ""
    # the encodings the session's clients read (a fan-out may need both)
    encodings: tuple[Encoding, ...] = ("json",)


class Ping(_Req):
    op: Literal["ping"] = "ping"


class Close(_Req):
    op: Literal["close"] = "close"


class Open(_Req):
    op: Literal["open"] = "open"
    config: dict[str, JsonValue] | None = None
    preset: str | None = None
    revision: int = 0


class Current(_Req):
    """The snapshot (and schema) again, and the latest frame: after a mode switch."""

    op: Literal["current"] = "current"


class Step(_Req):
    """Up to `n` steps; returns early after `budget_s` of CPU (the caller re-issues)."""

    op: Literal["step"] = "step"
    n: int = Field(default=1, ge=1)
    budget_s: float | None = None


class FrameAt(_Req):
    op: Literal["frame_at"] = "frame_at"
    t: int = Field(ge=0)


class SetField(_Req):
    op: Literal["set"] = "set"
    path: str
    value: JsonValue


class Reset(_Req):
    op: Literal["reset"] = "reset"


class NextExample(_Req):
    """Finish the example in chunks (`budget_s` of CPU per request, `finished` False until
    done), then learn and start the next one."""

    op: Literal["next_example"] = "next_example"
    budget_s: float | None = None


class Watch(_Req):
    """The nodes whose full update matrices go into frames; answered with their updates for
    every step of the current example still kept."""

    op: Literal["watch"] = "watch"
    nodes: tuple[str, ...] = ()


class Compare(_Req):
    """Compare mode on (a second rule) or off (None): rebuilt at the same example (pair.py)."""

    op: Literal["compare"] = "compare"
    rule: dict[str, JsonValue] | None = None


class TrainStart(_Req):
    """Start a training run of the session's configuration (server/trainjob.py); `training`
    replaces the configuration's training settings."""

    op: Literal["train_start"] = "train_start"
    training: dict[str, JsonValue] | None = None
    max_examples: int = Field(ge=1)


class TrainChunk(_Req):
    """Train batches for up to `budget_s` of CPU; with `boundary`, the decision boundary too."""

    op: Literal["train_chunk"] = "train_chunk"
    budget_s: float | None = None
    boundary: bool = False


class TrainStop(_Req):
    op: Literal["train_stop"] = "train_stop"


Request = Annotated[Ping | Close | Open | Current | Step | FrameAt | SetField | Reset | NextExample
                    | Watch | Compare | TrainStart | TrainChunk | TrainStop, Field(discriminator="op")]


class State(BaseModel):
    """Where a session's engine is (the server process keeps the latest)."""

    revision: int
    example: int
    t: int
    steps: int
    done: bool
    halted: dict[str, Any] | None = None


class Reply(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    ok: bool = True
    out: Out = Field(default_factory=list)
    state: State | None = None
    # failures
    code: str | None = None
    message: str = ""
    issues: list[dict[str, Any]] | None = None
    # step / next_example
    stepped: int = 0
    slow: float | None = None
    finished: bool = True
    row: dict[str, Any] | None = None
    row_b: dict[str, Any] | None = None  # next_example in compare mode: side b's row
    training: dict[str, Any] | None = None  # train_start / train_chunk (trainjob.py)
    cpu_s: float = 0.0  # CPU this request used in the worker (for fair scheduling)


def fail(code: str, message: str, issues: list[dict[str, Any]] | None = None) -> Reply:
    return Reply(ok=False, code=code, message=message, issues=issues)
