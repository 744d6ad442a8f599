"""Z-IL (Song, Lukasiewicz, Xu & Bogacz 2020; RULES.md §4): standard PC with unit
variances plus three conditions (init at feed-forward values, unit step, each layer's
parameters changing once at the step equal to its distance to the output)."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from errorwave.graph import Params
from errorwave.rules.base import Observation, Rule, RuleSettings
from errorwave.rules.predictive import EnergyState, Evaluation


class ZILSettings(RuleSettings):
    steps: int | None = Field(default=None, ge=0, le=100000,
                              description="Inference steps T (default: the graph's depth)")
    gamma: float = Field(default=1.0, gt=0, le=2, description="Inference rate; 1 is Z-IL's unit step")
    init: Literal["feedforward", "perturbed"] = Field(
        default="feedforward", description="Hidden values start at the feed-forward values, or off them")
    init_noise: float = Field(default=0.1, ge=0, le=10,
                              description="Std of the Gaussian offset used by init = perturbed")
    timing: Literal["distance", "end"] = Field(
        default="distance",
        description="Parameters of a vertex change at step = its (shortest) distance to the output, "
                    "or all at the last step")
    order: Literal["simultaneous", "weights_first"] = Field(
        default="simultaneous",
        description="Within a step, both moves use the state before it, or the values move with "
                    "the already-updated weights")


class ZIL(Rule):
    name = "zil"
    title = "Z-IL (zero-divergence inference learning)"
    description = ("Standard PC, unit variances, started at the feed-forward values with a unit step; "
                   "each vertex's parameters change once, when the error front reaches it. "
                   "Exactly backprop on chains; on graphs with paths of different lengths it is not.")
    Settings = ZILSettings

    def __init__(self, ctx):
        super().__init__(ctx)
        g, s = self.graph, self.settings
        variances = dict.fromkeys(g.hidden_and_output, 1.0)
        self.state = EnergyState(g, ctx.params, ctx.example.inputs, ctx.example.target,
                                 ctx.feedforward, variances)
        if getattr(s, "init", "feedforward") == "perturbed":
            gen = torch.Generator().manual_seed(ctx.seed)
            for n in self.state.x:
                noise = torch.randn(self.state.x[n].shape, generator=gen, dtype=torch.float64)
                self.state.x[n] = self.state.x[n] + s.init_noise * noise.to(g.dtype)
        self.last = self.total_steps(s, g.s)
        self.updates = self.zeros_like_params()
        self.pending: Params = {}
        self.ev: Evaluation | None = None

    def fires_at(self, nid: str) -> int | None:
        if getattr(self.settings, "timing", "distance") == "end":
            return self.last
        return self.graph.s.shortest[nid]

    def observe(self) -> Observation:
        st, g, lr = self.state, self.graph, self.settings.lr
        self.ev = ev = st.evaluate()
        events = []
        for nid in g.param_nodes:
            if self.fires_at(nid) == self.t:
                for k in g.param_keys:
                    if k[0] == nid:
                        delta = lr * ev.param_drive[k]
                        self.updates[k] = self.updates[k] + delta
                        self.pending[k] = delta
                events.append(self.plasticity(nid))
        phase = "inference"
        return Observation(phase, st.shown_values(ev), ev.predictions, ev.errors,
                           dict(self.updates), ev.energy, events)

    def advance(self) -> None:
        st = self.state
        if getattr(self.settings, "order", "simultaneous") == "weights_first":
            self._apply_pending()
            st.move_values(st.evaluate(), self.settings.gamma)
        else:
            st.move_values(self.ev, self.settings.gamma)
            self._apply_pending()
        self.t += 1

    def _apply_pending(self) -> None:
        for k, d in self.pending.items():
            self.state.params[k] = self.state.params[k] + d
        self.pending = {}
