"""Fa-Z-IL (Song et al. 2020; RULES.md §4): Z-IL without an external clock. Each error
unit's plasticity is gated by phi, open at the step where that error turns nonzero after
having been zero for the preceding t_d steps (our choice: an elementwise gate, t_d >= 1).
A prediction period with the output unclamped (all errors zero) comes first."""

from __future__ import annotations

import torch
from pydantic import Field

from errorwave.rules.base import Observation, RuleSettings
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

    def observe(self) -> Observation:
        st, g, lr, t_d = self.state, self.graph, self.settings.lr, self.settings.t_d
        st.clamped = self.t >= self.period
        self.ev = ev = st.evaluate()
        events = []
        for nid in g.hidden_and_output:
            nonzero = ev.errors[nid] != 0
            gate = nonzero & (self.silent[nid] >= t_d)
            self.silent[nid] = torch.where(nonzero, 0, self.silent[nid] + 1)
            if nid not in g.param_nodes or not bool(gate.any()):
                continue
            mask = gate.to(g.dtype)
            for k in g.param_keys:
                if k[0] == nid:
                    m = mask[:, None] if k[1] == "weight" else mask
                    delta = lr * m * ev.param_drive[k]
                    self.updates[k] = self.updates[k] + delta
                    self.pending[k] = delta
            events.append(self.plasticity(nid, f"gate open on {int(gate.sum())} of {gate.numel()} units"))
        phase = "prediction" if self.t < self.period else "inference"
        return Observation(phase, st.shown_values(ev), ev.predictions, ev.errors,
                           dict(self.updates), ev.energy, events)
