"""Configuration v1: the single source of truth for graphs, data, rule and seeds.

Schema checks live in the pydantic models; the graph's structural checks
(unknown inputs, cycles, sizes) live in `validation.py`, which turns every
problem into an issue naming the node and the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints

ELEMENTWISE_OPS = (
    "identity", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
    "sin", "cos", "tan", "exp", "square", "sqrt",
)
Activation = Literal[
    "identity", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
    "sin", "cos", "tan", "exp", "square", "sqrt",
]
Op = Literal[
    "input", "linear", "add", "mul",
    "identity", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
    "sin", "cos", "tan", "exp", "square", "sqrt",
]
NodeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]{0,31}$")]
DatasetName = Literal["xor", "circles", "spirals", "digits"]

SettingsT = TypeVar("SettingsT", bound=BaseModel)
Vector = list[float]
Matrix = list[list[float]]


class Strict(BaseModel):
    """Base for every model read from users: unknown fields and NaN/Inf are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Node(Strict):
    id: NodeId
    op: Op
    inputs: list[NodeId] = Field(default_factory=list)
    size: int | None = Field(default=None, ge=1, description="Units; inferred for add/mul/elementwise")
    activation: Activation = Field(default="identity", description="Form B: mu = f(W x + b)")
    input_activation: Activation = Field(
        default="identity", description="Form A: mu = W f(x) + b (linear only)"
    )
    bias: bool = Field(default=True, description="Linear nodes only")
    negative_slope: float = Field(default=0.01, ge=0, le=1, description="Slope of leaky_relu")
    label: str | None = Field(default=None, max_length=200, description="Display text only")


class Graph(Strict):
    nodes: list[Node] = Field(min_length=2)
    output: NodeId
    loss: Literal["mse", "cross_entropy"] = "mse"


class NodeParams(Strict):
    weight: dict[NodeId, Matrix] = Field(default_factory=dict)
    bias: Vector | None = None


class ExplicitData(Strict):
    input: dict[NodeId, Vector]
    target: Vector | int


class DatasetData(Strict):
    dataset: DatasetName
    index: int = Field(default=0, ge=0)
    samples: int = Field(default=200, ge=4, le=5000, description="Generated datasets only")


class RuleSpec(BaseModel):
    """The rule's name plus its own settings; each rule validates its settings."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    name: str
    _settings: BaseModel | None = PrivateAttr(default=None)

    def settings_as(self, settings_cls: type[SettingsT]) -> SettingsT:
        """The rule's own settings model, validated once per configuration (validation and
        the engine both ask; the second gets the first's result)."""
        if not isinstance(self._settings, settings_cls):
            self._settings = settings_cls.model_validate(self.model_dump(exclude={"name"}))
        return self._settings


class Seeds(Strict):
    init: int = Field(default=0, ge=0, le=2**31 - 1)
    data: int = Field(default=0, ge=0, le=2**31 - 1)


class Training(Strict):
    """Settings of a training run (`errorwave.training`); the stepping engine ignores them."""

    epochs: int = Field(default=1, ge=1, le=1000, description="Passes over the training split")
    batch_size: int = Field(default=32, ge=1, le=4096, description="Examples per update")
    optimiser: Literal["sgd", "momentum", "adam"] = Field(
        default="sgd", description="torch.optim.SGD, SGD with momentum, or Adam; each gets "
                                   "-(rule update)/(rule lr) as its gradient")
    lr: float | None = Field(default=None, gt=0, le=10,
                             description="The optimiser's learning rate (default: the rule's lr)")
    momentum: float = Field(default=0.9, ge=0, lt=1, description="Momentum of optimiser = momentum")
    test_split: float = Field(default=0.2, ge=0, lt=1, description="Fraction of the data held out")
    max_examples: int | None = Field(default=None, ge=1, le=1_000_000,
                                     description="Cap on the training examples used per epoch")
    shuffle: bool = Field(default=True, description="Reshuffle the training split every epoch")


class Compare(Strict):
    """A second rule (or the same rule with other settings) run beside `rule` on the same
    graph, initial weights and example, advanced by the same clock."""

    rule: RuleSpec


class TourStop(Strict):
    """One stop of a guided tour: where to go and what to read there."""

    t: int = Field(ge=0, le=100_000, description="The step to show")
    example: int = Field(default=0, ge=0, le=100_000, description="Examples learned before this stop")
    node: NodeId | None = Field(default=None, description="The node to select")
    compare: Compare | None = Field(default=None, description="The rule beside the main one (none: alone)")
    caption: str = Field(min_length=1, max_length=400, description="What to look at and the number to read")


class Config(Strict):
    version: Literal[1] = 1
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    # The preset gallery's theme; read by the page, ignored by the engine.
    group: str | None = Field(default=None, max_length=80)
    graph: Graph
    params: dict[NodeId, NodeParams] = Field(default_factory=dict)
    data: ExplicitData | DatasetData
    rule: RuleSpec
    seeds: Seeds = Field(default_factory=Seeds)
    dtype: Literal["float64", "float32"] = "float64"
    training: Training | None = None
    # Read by the server and the page (two engines, one clock); a single engine ignores it.
    compare: Compare | None = None
    # A guided tour through this configuration; the page walks it, the engine ignores it.
    tour: list[TourStop] | None = Field(default=None, max_length=60)

    def node(self, node_id: str) -> Node:
        return next(n for n in self.graph.nodes if n.id == node_id)


class Limits(Strict):
    """Caps that keep one configuration from hogging a server (configurable there)."""

    max_nodes: int = 400
    max_units: int = 1024
    max_steps: int = 5000
    max_params: int = 2_000_000
    max_edges: int = 2000


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    schema["$id"] = "https://errorwave.local/schema/config.schema.json"
    schema["title"] = "Errorwave configuration v1"
    return schema
