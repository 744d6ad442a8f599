"""The one interface every learning rule implements.

A rule is a small state machine over inference steps t = 0..T of one example:
`observe()` reports the state at the current t (values, predictions, errors, the
cumulative parameter changes made or scheduled so far, energy, rule events) and
`advance()` moves to t + 1. The engine, not the rule, compares with backprop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field

from errorwave.config import Config
from errorwave.graph import CompiledGraph, Params, Values
from errorwave.structure import Structure


class RuleSettings(BaseModel):
    """Base of every rule's settings: unknown names and NaN/Inf are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    lr: float = Field(default=0.1, gt=0, le=10, description="Learning rate of the parameter update")


@dataclass
class Example:
    inputs: Values
    target: torch.Tensor
    index: int


@dataclass
class Context:
    """Everything a rule may read about the current example; backprop's numbers are
    here only so that rules which are defined relative to them (none of the PC family)
    could; the engine alone uses them for divergence."""

    graph: CompiledGraph
    params: Params  # parameters at the start of this example (do not modify)
    example: Example
    feedforward: Values
    settings: Any
    seed: int  # differs per example: init seed + examples seen
    # Rule state that outlives an example (learned inverses, fixed feedback matrices);
    # kept by the engine across examples and cleared on reset.
    memory: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observation:
    phase: str
    values: Values
    predictions: Values
    errors: Values  # the error shown for each non-input vertex (sign: tends to -dL/dv)
    updates: Params  # cumulative parameter change made or scheduled this example
    energy: float
    events: list[dict[str, Any]] = field(default_factory=list)
    # What the engine compares with -dL/dv, when it is not `errors` itself
    # (e.g. precision-weighted errors); same keys as `errors`.
    signals: Values | None = None
    # Rule-specific numbers shown beside the frame, e.g. an inverse's reconstruction
    # error: {name: float | {node: float}}.
    readouts: dict[str, Any] = field(default_factory=dict)


def stage(name: str, nodes: list[str], caption: str) -> dict[str, Any]:
    """One sub-step of a step: what it is, the vertices it acts on, one line of caption."""
    return {"stage": name, "nodes": list(nodes), "caption": caption}


class Rule(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    # The local update as the inspector shows it. "delta": ΔW = η·δ·g(x)ᵀ with δ = ε ⊙ f′(a)
    # built from the frame's error, so the page can plug in the numbers; "update": the
    # rule's own ΔW (from the frame) is shown under the equation instead.
    equation: ClassVar[str] = "ΔW_v = η · δ_v · g(x)ᵀ,   δ_v = ε_v ⊙ f′(a_v)"
    equation_form: ClassVar[str] = "delta"
    Settings: ClassVar[type[RuleSettings]] = RuleSettings
    # What a frame's `error` of this rule is (every rule's tends to -dL/dv).
    error_meaning: ClassVar[str] = "value - prediction (a prediction error)"
    # The phase shown before the last step and at it (see `phase()`).
    phases: ClassVar[tuple[str, str]] = ("inference", "update")

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.graph = ctx.graph
        self.settings = ctx.settings
        self.t = 0
        self.last = self.total_steps(self.settings, self.graph.s)  # T

    # ----- what the rule declares ---------------------------------------------------
    @classmethod
    def unsupported(cls, config: Config, structure: Structure) -> str | None:
        """A reason this rule cannot run on the graph, or None."""
        return None

    @classmethod
    def total_steps(cls, settings: RuleSettings, structure: Structure) -> int:
        """T: the last inference step of an example."""
        return int(getattr(settings, "steps", None) or structure.depth)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        schema = cls.Settings.model_json_schema()
        params = []
        for pname, prop in schema.get("properties", {}).items():
            options = prop.get("anyOf", [prop])
            main = next((o for o in options if o.get("type") != "null"), prop)
            params.append({
                "name": pname,
                "type": main.get("type", "string") if "enum" not in main else "choice",
                "default": prop.get("default"),
                "minimum": main.get("minimum", main.get("exclusiveMinimum")),
                "maximum": main.get("maximum", main.get("exclusiveMaximum")),
                "choices": main.get("enum"),
                "nullable": any(o.get("type") == "null" for o in options),
                "description": prop.get("description", ""),
            })
        return {"name": cls.name, "title": cls.title, "description": cls.description,
                "equation": cls.equation, "equation_form": cls.equation_form,
                "params": params, "supports": cls.supports_text()}

    @classmethod
    def supports_text(cls) -> str:
        return "any DAG"

    # ----- the state machine ------------------------------------------------------------
    @abstractmethod
    def observe(self) -> Observation:
        """The state at step self.t, including plasticity that fires at t. A pure readout:
        it may cache what it computed for advance(), but it changes no state."""

    def advance(self) -> None:
        """Move from step t to t + 1, whether or not observe() ran at t (scripts and
        benchmarks may step without reading)."""
        self.move()
        self.t += 1

    def move(self) -> None:  # noqa: B027 (a hook with a default, not abstract)
        """Change the rule's own state from step t to t + 1; the base counts the step.
        Nothing by default: a rule that computed its example up front only reveals it."""

    def phase(self) -> str:
        return self.phases[0] if self.t < self.last else self.phases[1]

    # ----- slow motion: the sub-steps of one step, as data --------------------------------
    def stages(self, obs: Observation) -> list[dict[str, Any]]:
        """The sub-steps that took the rule from step t - 1 to the observation at t, in the
        order performed: `{stage, nodes, caption}` (the page's slow motion plays them; see
        docs/slow-motion.md). Rules override it to say what they really do; this default
        names one step over every non-input vertex, then any plasticity that fired."""
        g = self.graph
        first = [stage("start", g.hidden_and_output, f"{self.title}: the state at the start")] \
            if self.t == 0 else \
            [stage("step", g.hidden_and_output, f"{self.title}: one step ({obs.phase})")]
        return first + self.plasticity_stage(obs, "ΔW: the parameters of these vertices change")

    @staticmethod
    def plasticity_stage(obs: Observation, caption: str) -> list[dict[str, Any]]:
        """One stage over the vertices whose plasticity fires at this step (none: no stage)."""
        fired = [e["node"] for e in obs.events if e.get("kind") == "plasticity" and e.get("node")]
        return [stage("plasticity", list(dict.fromkeys(fired)), caption)] if fired else []

    def plasticity_at_end(self, detail: str) -> list[dict[str, Any]]:
        """Every parameterised vertex learning at the last step (most rules' schedule)."""
        if self.t != self.last:
            return []
        return [self.plasticity(n, detail) for n in self.graph.param_nodes]

    # ----- helpers --------------------------------------------------------------------
    def zeros_like_params(self) -> Params:
        return {k: torch.zeros_like(v) for k, v in self.ctx.params.items()}

    def zeros(self, nid: str) -> torch.Tensor:
        return torch.zeros(self.graph.s.sizes[nid], dtype=self.graph.dtype)

    def plasticity(self, nid: str, detail: str = "") -> dict[str, Any]:
        return {"kind": "plasticity", "node": nid, "t": self.t, "detail": detail}
