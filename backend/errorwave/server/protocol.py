"""The websocket protocol (docs/contract.md) as pydantic discriminated unions.

Client messages are parsed from untrusted text with `parse_client`: unknown fields,
non-finite numbers and unknown types are errors. Server messages are modelled for the
exported JSON Schema (`shared/schema/protocol.schema.json`); at run time the server
sends the engine's own dicts (serialised by `errorwave.engine.to_json`), which these
models describe.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from errorwave.config import RuleSpec, Training
from errorwave.server.quoting import clip, short

PROTO: Literal[1] = 1
ErrorCode = Literal["bad_json", "bad_message", "invalid_config", "unknown_preset",
                    "unsupported_graph", "too_large", "not_loaded", "limit", "diverged",
                    "internal", "read_only", "unknown_class"]


class _Strict(BaseModel):
    # strict: no coercion ("5" or true is not an int, "yes" is not a bool)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


# ----- client -> server ---------------------------------------------------------------------
class Hello(_Strict):
    type: Literal["hello"]
    proto: Literal[1] = PROTO
    binary: bool = Field(default=False, description="Frames as float32 columns (docs/server.md)")


class Load(_Strict):
    type: Literal["load"]
    config: dict[str, JsonValue] | None = Field(
        default=None, description="A v1 configuration (shared/schema/config.schema.json)")
    preset: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="A preset id from GET /api/presets")

    @model_validator(mode="after")
    def _one_source(self) -> Load:
        if (self.config is None) == (self.preset is None):
            raise ValueError("give exactly one of 'config' and 'preset'")
        return self


class Step(_Strict):
    type: Literal["step"]
    n: int = Field(default=1, ge=1, le=100_000)


class RunExample(_Strict):
    type: Literal["run_example"]


class Play(_Strict):
    type: Literal["play"]
    rate: float = Field(default=10.0, gt=0, le=1000, description="Frames per second")
    across_examples: bool = Field(
        default=True, description="At the end of an example go on to the next one")


class Pause(_Strict):
    type: Literal["pause"]


class Seek(_Strict):
    type: Literal["seek"]
    t: int = Field(ge=0, le=100_000)


class Set(_Strict):
    type: Literal["set"]
    path: str = Field(max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+){0,7}$")
    value: JsonValue


class Reset(_Strict):
    type: Literal["reset"]


class NextExample(_Strict):
    type: Literal["next_example"]


class Watch(_Strict):
    """Full update matrices for these parameter nodes in every frame (lean frames carry only
    their norms); answered by an `updates` message with every kept step of the example."""

    type: Literal["watch"]
    nodes: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=16)


class Share(_Strict):
    """Share this session with a class: answered by `event shared {code, url, title}`; then
    `event followers {count}` whenever the count changes (classes.py)."""

    type: Literal["share"]
    title: str = Field(default="", max_length=80, description="Whom followers follow")


class Follow(_Strict):
    """Follow a class, read-only: `event following {code, url, title}`, the owner's snapshot,
    schema and latest frame, then everything the owner's view does. `load` forks."""

    type: Literal["follow"]
    code: str = Field(max_length=64, description="A class code, e.g. A-7KQ3-MZ9P-RT4WX")


class View(_Strict):
    """The owner's view (selected node, tour stop...): `event view {view}` to followers."""

    type: Literal["view"]
    view: dict[str, JsonValue]


class CompareMode(_Strict):
    """Compare mode on (`rule`: the second rule, or the same rule with other settings) or
    off (null), without reloading: both sides rebuilt at the same example, then stepped to
    the same t. Side b's settings change with `set {path: "compare.rule.<field>"}`."""

    type: Literal["compare"]
    rule: RuleSpec | None


class Train(_Strict):
    """Start a training run of the session's configuration (docs/training.md): a rule and
    backprop from the same start, in chunks under the CPU cap; answered by `training`
    messages. `training` replaces the configuration's training settings for this run. A
    new `train` stops the run before it."""

    type: Literal["train"]
    training: Training | None = None


class TrainPause(_Strict):
    type: Literal["train_pause"]


class TrainResume(_Strict):
    type: Literal["train_resume"]


class TrainStop(_Strict):
    type: Literal["train_stop"]


ClientMessage = Annotated[
    Hello | Load | Step | RunExample | Play | Pause | Seek | Set | Reset | NextExample | Watch
    | Share | Follow | View | CompareMode | Train | TrainPause | TrainResume | TrainStop,
    Field(discriminator="type"),
]
_client = TypeAdapter(ClientMessage)


class BadMessage(ValueError):
    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _finite(value: Any, depth: int = 0) -> bool:
    if depth > 64:
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v, depth + 1) for v in value)
    return True


def parse_client(text: str | bytes) -> BaseModel:
    """One client message, or BadMessage(bad_json | bad_message) with a readable reason."""
    try:
        msg = _client.validate_json(text)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            reason = clip(str(first["ctx"].get("error", "")), 120)
            raise BadMessage("bad_json", f"not valid JSON: {reason}") from None
        if first["type"] == "model_attributes_type" or first["type"] == "model_type":
            raise BadMessage("bad_message", "a message is a JSON object with a 'type'") from None
        if first["type"] == "union_tag_not_found":
            raise BadMessage("bad_message", "a message needs a 'type'") from None
        if first["type"] == "union_tag_invalid":
            raise BadMessage("bad_message", f"unknown message type {short(first['ctx']['tag'])}; known: "
                             + ", ".join(sorted(_TYPES))) from None
        parts = []
        for e in errors[:5]:
            loc = short(".".join(str(p) for p in e["loc"][1:]))[1:-1]
            parts.append(f"{loc}: {e['msg']}" if loc else e["msg"])
        raise BadMessage("bad_message", clip("; ".join(parts))) from None
    if isinstance(msg, Load | Set | View | CompareMode) and not _finite(msg.model_dump()):
        raise BadMessage("bad_message", "numbers must be finite and nesting shallow")
    return msg


# ----- server -> client ---------------------------------------------------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Welcome(_Open):
    type: Literal["welcome"]
    proto: Literal[1]
    binary: bool = False
    limits: dict[str, float | int]
    rules: list[dict[str, Any]] = Field(description="GET /api/rules, inline")


class Distance(_Open):
    shortest: int | None
    longest: int | None


class GraphNode(_Open):
    op: str
    size: int
    inputs: list[str]
    label: str | None = None
    distance: Distance
    has_params: bool


class SnapshotGraph(_Open):
    order: list[str]
    nodes: dict[str, GraphNode]
    output: str
    depth: int


Side = Literal["a", "b"]
Vec = list[float | None]
Mat = list[list[float | None]]


class NodeParams(_Open):
    weight: dict[str, Mat]
    bias: Vec | None


class Snapshot(_Open):
    type: Literal["snapshot"]
    revision: int
    config: dict[str, Any]
    graph: SnapshotGraph
    rule: dict[str, Any] = Field(description="{name, title, settings, steps, error_meaning}")
    example: dict[str, Any] = Field(description="{index, seen, input, target}")
    params: dict[str, NodeParams]
    feedforward: dict[str, Vec]
    backprop: dict[str, Any] = Field(description="{loss, adjoint, updates}")
    sign_convention: str
    side: Side | None = Field(default=None, description="Compare mode: which side (absent alone)")
    steps: int | None = Field(default=None, description="Compare mode: the clock's steps (the "
                              "longer of the two sides' examples)")


class NodeState(_Open):
    value: Vec
    prediction: Vec
    error: Vec


class Metric(_Open):
    cosine: float | None
    rel_l2: float | None
    max_abs: float | None


class Divergence(_Open):
    nodes: dict[str, Metric]
    params: dict[str, Metric]
    total: Metric
    total_nodes: Metric


class FrameEvent(_Open):
    kind: str = Field(description="plasticity | error_arrived | converged | diverged")
    node: str | None
    t: int
    detail: str = ""


class Stage(_Open):
    """One sub-step of a step, declared by the rule (slow motion, docs/slow-motion.md)."""

    stage: str = Field(description="What the sub-step is, e.g. predictions, errors, vjp")
    nodes: list[str] = Field(description="The vertices it acts on")
    caption: str = Field(description="One line that says what happens")


class Frame(_Open):
    """In compare mode each step sends side a's frame, then side b's; both carry the
    clock's `t`."""

    type: Literal["frame"]
    revision: int
    example: int
    t: int
    phase: str
    nodes: dict[str, NodeState]
    updates: dict[str, NodeParams]
    divergence: Divergence
    energy: float | None
    events: list[FrameEvent]
    readouts: dict[str, Any] = Field(default_factory=dict)
    done: bool
    stages: list[Stage] = Field(default_factory=list, description="The sub-steps that led from "
                                "step t - 1 to this frame, in the order the rule performed them")
    lean: bool = Field(default=False, description="Websocket frames: `updates` only for the "
                       "watched nodes, `update_norms` for all")
    update_norms: dict[str, float | None] | None = Field(
        default=None, description="Per parameter node: the norm of its cumulative update")
    side: Side | None = Field(default=None, description="Compare mode: which side")
    held: bool = Field(default=False, description="Compare mode: this side's example ended "
                       "before the clock's t; its last numbers, held (no events)")
    vs_a: Divergence | None = Field(default=None, description="Compare mode, side b: its "
                                    "divergence from side a (side a's numbers the reference)")


class Updates(_Open):
    """The answer to `watch`: the watched nodes' full updates at every step of the current
    example still kept on the server (keys of `steps` are the steps t, as strings)."""

    type: Literal["updates"]
    side: Side | None = None
    revision: int
    example: int
    nodes: list[str]
    steps: dict[str, dict[str, NodeParams]]


class Column(_Open):
    path: list[str] = Field(description='e.g. ["nodes","h1","value"], ["updates","h1","weight","x"]')
    offset: int = Field(description="Index of the first float32 of this column")
    shape: list[int]


class Schema(_Open):
    """Sent in binary mode after every snapshot: the layout of the float32 block of the
    binary frames that follow (docs/server.md)."""

    type: Literal["schema"]
    revision: int
    example: int
    dtype: Literal["float32"] = "float32"
    byte_order: Literal["little"] = "little"
    count: int
    columns: list[Column]


class Event(_Open):
    type: Literal["event"]
    kind: str = Field(description="playing | paused | example_done | learned | starting | "
                      "shared {code, url, title} | followers {code, count} | following "
                      "{code, url, title} | view {view} | class_ended {code, title, message}")
    side: Side | None = Field(default=None, description="Compare mode: `learned` of side b")


class Issue(_Open):
    path: str
    node: str | None
    field: str | None
    message: str


class Error(_Open):
    type: Literal["error"]
    code: ErrorCode
    message: str
    issues: list[Issue] | None = None


class TrainRow(_Open):
    """One batch of a training run: a learning row (docs/contract.md) with the batch's
    numbers (errorwave.training.Trainer's rows, as they are)."""

    example: int = Field(description="Examples learned before this batch")
    index: int
    epoch: int
    batch_size: int
    loss: float | None
    accuracy: float | None
    angle: dict[str, float | None] = Field(description="Per parameter node, degrees to backprop's update")
    cosine: float | None = Field(description="Of the update to backprop's at the same weights")
    rel_l2: float | None
    backprop_loss: float | None = None
    distance: float | None = Field(description="L2 distance of the weights to backprop's run")
    dropped: int
    boundary: dict[str, Any] | None = None


class TrainEpoch(_Open):
    epoch: int
    examples: int
    test_loss: float | None
    test_accuracy: float | None
    train_loss: float | None
    train_accuracy: float | None
    distance: float | None
    backprop_test_loss: float | None = None
    backprop_test_accuracy: float | None = None


class TrainingProgress(_Open):
    """A training run's progress, at most a few times a second: the rows since the last one."""

    type: Literal["training"]
    run: int = Field(description="Counts the session's runs; a new run starts the curves afresh")
    state: Literal["running", "paused", "stopped", "done", "failed"]
    examples: int = Field(description="Examples trained so far")
    total: int = Field(description="Examples the run trains on (epochs x training split)")
    epoch: int
    epochs: int
    rate: float | None = Field(description="Examples per second while running")
    rule: str
    rows: list[TrainRow]
    epoch_rows: list[TrainEpoch]
    boundary: dict[str, Any] | None = Field(
        default=None, description="2-D datasets: the rule's decision boundary now (boundary.py)")


ServerMessage = Annotated[Welcome | Snapshot | Frame | Schema | Updates | Event | Error
                          | TrainingProgress, Field(discriminator="type")]

_TYPES = ("hello", "load", "step", "run_example", "play", "pause", "seek", "set", "reset",
          "next_example", "watch", "share", "follow", "view", "compare", "train", "train_pause",
          "train_resume", "train_stop")


class Protocol(BaseModel):
    """Both directions, for the schema export."""

    client: ClientMessage
    server: ServerMessage


def json_schema() -> dict[str, Any]:
    schema = Protocol.model_json_schema()
    schema["$id"] = "https://errorwave.local/schema/protocol.schema.json"
    schema["title"] = "Errorwave websocket protocol v1"
    schema["description"] = ("Messages on /ws. `client`: what a browser sends; `server`: what it "
                             "receives. See docs/contract.md and docs/server.md.")
    return schema
