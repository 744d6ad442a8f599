"""Fa-Z-IL (Song et al. 2020): Z-IL without an external clock.

A prediction period with the output unclamped comes first: every error is zero and
nothing moves. Then the target appears. Plasticity is gated locally: a vertex's synapses
learn once per example, at the step the top-down (feedback) front reaches it. The front
is a one-bit tag that travels with the error along each edge: it reaches the output
when the target is switched on after at least t_d silent steps, and any other vertex
one step after the first of its children. A unit whose error turns nonzero for another
reason (bottom-up relaxation after the front has passed, a dead ReLU waking up, a vertex
with no path to the output) does not open its gate, so Fa-Z-IL makes exactly Z-IL's
updates on every graph Z-IL runs on.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from errorwave.rules.base import RuleSettings
from errorwave.rules.zil import ZIL


class FaZILSettings(RuleSettings):
    t_d: int = Field(default=1, ge=1, le=1000,
                     description="Silent steps the output's error needs before the target's onset "
                                 "opens the gates")
    prediction_steps: int | None = Field(
        default=None, ge=0, le=100000,
        description="Steps with the output unclamped first (default: max(t_d, depth)); at least t_d")
    steps: int | None = Field(default=None, ge=0, le=100000,
                              description="Last step T (default: prediction steps + depth)")
    gamma: float = Field(default=1.0, gt=0, le=2, description="Inference rate")

    @model_validator(mode="after")
    def _silence_before_onset(self) -> FaZILSettings:
        # A shorter prediction period would leave no onset the gate could detect: the
        # rule would silently never learn.
        if self.prediction_steps is not None and self.prediction_steps < self.t_d:
            raise ValueError(f"prediction_steps ({self.prediction_steps}) must be at least t_d "
                             f"({self.t_d}): the gate opens only after t_d silent steps")
        return self


class FaZIL(ZIL):
    name = "fazil"
    title = "Fa-Z-IL (fully autonomous Z-IL)"
    equation = ("ε_v = v − μ_v;  ΔW_v = η · δ_v · g(x)ᵀ,  δ_v = ε_v ⊙ f′(a_v),   "
                "once, when v's local gate sees the feedback front")
    description = ("Z-IL whose timing comes from a local gate: after a silent prediction period the "
                   "target appears, and each vertex's synapses learn once, at the step the feedback "
                   "front reaches it. It reproduces Z-IL's updates without a clock.")
    Settings = FaZILSettings

    @staticmethod
    def prediction_period(settings, structure) -> int:
        if settings.prediction_steps is not None:
            return settings.prediction_steps
        return max(settings.t_d, structure.depth)

    @classmethod
    def total_steps(cls, settings, structure) -> int:
        if settings.steps is not None:
            return settings.steps
        return cls.prediction_period(settings, structure) + structure.depth

    def __init__(self, ctx):
        super().__init__(ctx)
        self.period = self.prediction_period(self.settings, self.graph.s)
        self.state.clamped = self.period == 0
        self.reached: dict[str, int] = {}  # vertex -> step the feedback front reached it

    def evaluate(self):
        self.state.clamped = self.t >= self.period
        return super().evaluate()

    def arriving(self) -> list[str]:
        """The vertices the front reaches at this step (a readout: nothing is latched)."""
        g, t = self.graph, self.t
        if t < self.period:
            return []
        arriving = []
        for n in g.hidden_and_output:
            if n in self.reached:
                continue
            if n == g.output:
                # The target's onset after the silent period (validated: period >= t_d).
                arriving.append(n)
            elif any(self.reached.get(c, t) < t for c in g.s.children[n]):
                arriving.append(n)
        return arriving

    def firing_now(self) -> list[str]:
        arriving = set(self.arriving())
        return [n for n in self.graph.param_nodes if n in arriving]

    def fired_before(self, nid: str) -> bool:
        return self.reached.get(nid) == self.t - 1

    def plasticity_caption(self) -> str:
        return "ΔW_v = η · δ_v · g(x)ᵀ, once: v's gate sees the feedback front arrive"

    def commit(self, ev) -> None:
        for n in self.arriving():
            self.reached[n] = self.t

    def phase(self) -> str:
        return "prediction" if self.t < self.period else "inference"
