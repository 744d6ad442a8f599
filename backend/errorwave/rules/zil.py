"""Z-IL (Song, Lukasiewicz, Xu & Bogacz 2020; docs/rules.md): standard PC with unit
variances plus three conditions (init at feed-forward values, unit step, each layer's
parameters changing once at the step equal to its distance to the output)."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field

from errorwave.graph import Params
from errorwave.rules.base import Observation, Rule, RuleSettings, stage
from errorwave.rules.common.predictive import EnergyState, Evaluation, relaxation_stages


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
    equation = ("ε_v = v − μ_v, v from the feed-forward values, γ = 1;   "
                "ΔW_v = η · δ_v · g(x)ᵀ,  δ_v = ε_v ⊙ f′(a_v), only at t = d(v)")
    description = ("Standard PC, unit variances, started at the feed-forward values with a unit step; "
                   "each vertex's parameters change once, when the error front reaches it. "
                   "Exactly backprop on chains; on graphs with paths of different lengths it is not.")
    Settings: ClassVar[type[RuleSettings]] = ZILSettings  # Fa-Z-IL narrows it to its own
    phases = ("inference", "inference")  # plasticity is spread over the steps

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
        self.updates = self.zeros_like_params()  # committed by advance()
        self.ev: Evaluation | None = None
        self.ev_t = -1

    def fires_at(self, nid: str) -> int | None:
        if getattr(self.settings, "timing", "distance") == "end":
            return self.last
        return self.graph.s.shortest[nid]

    def firing_now(self) -> list[str]:
        """The parameter vertices whose plasticity fires at this step."""
        return [n for n in self.graph.param_nodes if self.fires_at(n) == self.t]

    def evaluate(self) -> Evaluation:
        """The energy's gradients at the current state, once per step."""
        if self.ev_t != self.t:
            # parameter gradients only for the vertices whose plasticity fires now
            self.ev, self.ev_t = self.state.evaluate(params=self.firing_now()), self.t
        assert self.ev is not None
        return self.ev

    def fire(self, ev: Evaluation) -> tuple[Params, list[str]]:
        """The parameter changes due at step t (from the state before the step)."""
        g, lr = self.graph, self.settings.lr
        fired = self.firing_now()
        return {k: lr * ev.param_drive[k] for k in g.param_keys if k[0] in fired}, fired

    def observe(self) -> Observation:
        ev = self.evaluate()
        delta, fired = self.fire(ev)
        updates = {k: (v + delta[k] if k in delta else v) for k, v in self.updates.items()}
        events = [self.plasticity(n) for n in fired]
        return Observation(self.phase(), self.state.shown_values(ev), ev.predictions, ev.errors,
                           updates, ev.energy, events)

    def stages(self, obs: Observation) -> list[dict]:
        s = self.settings
        applied: list[dict] = []
        if self.t > 0:
            fired = [n for n in self.graph.param_nodes if self.fired_before(n)]
            if fired:
                applied = [stage("weights applied", fired,
                                 "the weights that fired at t − 1 take their change")]
        start = ("x starts at the feed-forward values: every hidden error is 0"
                 if getattr(s, "init", "feedforward") == "feedforward"
                 else "x starts off the feed-forward values (init perturbed)")
        move = f"x_v ← x_v + {s.gamma:g}·(−ε_v + Σ_c J_cvᵀ ε_c), "
        clamped = self.state.clamped
        if getattr(s, "order", "simultaneous") == "weights_first":
            stages = applied + relaxation_stages(
                self.graph, self.t, move + "errors recomputed with the new weights", start,
                clamped=clamped)
        else:  # both moves from the state before the step
            stages = relaxation_stages(self.graph, self.t, move + "with the errors of step t − 1",
                                       start, between=applied, clamped=clamped)
        return stages + self.plasticity_stage(obs, self.plasticity_caption())

    def fired_before(self, nid: str) -> bool:
        """Whether the vertex's plasticity fired at step t - 1 (applied by the last move)."""
        return self.fires_at(nid) == self.t - 1

    def plasticity_caption(self) -> str:
        return "ΔW_v = η · δ_v · g(x)ᵀ, once: the error front reaches v at t = d(v)"

    def move(self) -> None:
        st, gamma = self.state, self.settings.gamma
        ev = self.evaluate()
        delta, _ = self.fire(ev)
        self.commit(ev)
        for k, d in delta.items():
            self.updates[k] = self.updates[k] + d
        if getattr(self.settings, "order", "simultaneous") == "weights_first":
            self._apply(delta)
            st.move_values(st.evaluate(params=()), gamma)
        else:
            st.move_values(ev, gamma)  # both moves from the state before the step
            self._apply(delta)

    def commit(self, ev: Evaluation) -> None:
        """Hook for rules that keep per-step state (Fa-Z-IL's feedback front)."""

    def _apply(self, delta: Params) -> None:
        for k, d in delta.items():
            self.state.params[k] = self.state.params[k] + d
