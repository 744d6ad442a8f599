"""Fa-Z-IL (Song et al. 2020; RULES.md §4): Z-IL without an external clock. Each error
unit's plasticity is gated by phi, open at the step where that error turns nonzero after
having been zero for the preceding t_d steps (our choice: an elementwise gate, t_d >= 1).
A prediction period with the output unclamped (all errors zero) comes first."""

from __future__ import annotations

import torch
from pydantic import Field

from errorwave.rules.base import RuleSettings
from errorwave.rules.zil import ZIL


class FaZILSettings(RuleSettings):
    t_d: int = Field(default=1, ge=1, le=1000,
                     description="Steps an error must have been zero before its gate can open")
    prediction_steps: int | None = Field(
        default=None, ge=0, le=100000,
        description="Steps with the output unclamped first (default: max(t_d, depth))")
    steps: int | None = Field(default=None, ge=0, le=100000,
                              description="Last step T (default: prediction steps + depth)")
    gamma: float = Field(default=1.0, gt=0, le=2, description="Inference rate")


class FaZIL(ZIL):
    name = "fazil"
    title = "Fa-Z-IL (fully autonomous Z-IL)"
    description = ("Z-IL whose timing comes from a local gate: a synapse learns at the step its error "
                   "neuron turns on after t_d silent steps. After a silent prediction period it "
                   "reproduces Z-IL's schedule.")
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
        # Z-IL's conditions fixed to their defaults; gamma from our settings.
        super().__init__(ctx)
        self.period = self.prediction_period(self.settings, self.graph.s)
        self.silent = {n: torch.zeros(self.graph.s.sizes[n], dtype=torch.long)
                       for n in self.graph.hidden_and_output}
        self.state.clamped = self.period == 0

    def evaluate(self):
        self.state.clamped = self.t >= self.period
        return super().evaluate()

    def gates(self, ev) -> dict[str, torch.Tensor]:
        """phi per error unit: nonzero now, and zero for the preceding t_d steps."""
        t_d = self.settings.t_d
        return {n: (ev.errors[n] != 0) & (self.silent[n] >= t_d) for n in self.graph.hidden_and_output}

    def fire(self, ev):
        g, lr = self.graph, self.settings.lr
        delta, fired = {}, []
        for nid, gate in self.gates(ev).items():
            if nid not in g.param_nodes or not bool(gate.any()):
                continue
            fired.append(nid)
            mask = gate.to(g.dtype)
            for k in g.param_keys:
                if k[0] == nid:
                    delta[k] = lr * (mask[:, None] if k[1] == "weight" else mask) * ev.param_drive[k]
        return delta, fired

    def commit(self, ev) -> None:
        for n in self.silent:
            self.silent[n] = torch.where(ev.errors[n] != 0, 0, self.silent[n] + 1)

    def phase(self) -> str:
        return "prediction" if self.t < self.period else "inference"
